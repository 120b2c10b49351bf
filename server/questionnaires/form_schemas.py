"""Request and response models of the answering API (requests refuse extra fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.questionnaires.forms import FormState
from server.questionnaires.models import Timepoint


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedeemIn(In):
    token: str = Field(min_length=1, max_length=1024)


class RedeemOut(BaseModel):
    form_id: int
    access: str = Field(description="send as X-Form-Access to read and answer this one form")


class AnswerIn(In):
    instrument: str = Field(min_length=1, max_length=40)
    item: str = Field(min_length=1, max_length=40)
    value: int | str | None = Field(description="a scale value, text for a text item, or null")


class HelpOut(BaseModel):
    text: str
    leaders_told: bool


class AnswerOut(BaseModel):
    saved: bool
    answered: int
    required: int
    help: HelpOut | None = None


class FormQuery(In):
    lang: Literal["en", "fa", "nl"] | None = None


class ChoiceOut(BaseModel):
    value: int
    label: str
    lang: str


class ItemOut(BaseModel):
    id: str
    text: str
    lang: str
    type: Literal["scale", "text"]
    required: bool
    choices: list[ChoiceOut]


class InstrumentFormOut(BaseModel):
    id: str
    version: str
    title: str
    title_lang: str
    instructions: str | None
    instructions_lang: str | None
    items: list[ItemOut]
    answers: dict[str, int | str]


class FormSummaryOut(BaseModel):
    id: int
    series_id: int
    series_title: str
    group_name: str
    timepoint: Timepoint
    state: FormState
    opens_at: datetime | None
    closes_at: datetime | None
    instruments: list[str]
    answered: int
    required: int


class FormOut(FormSummaryOut):
    parts: list[InstrumentFormOut]


class SubmitOut(BaseModel):
    state: FormState


class MailPrefIn(In):
    opted_out: bool


class MailPrefOut(BaseModel):
    opted_out: bool


class ConsentOut(BaseModel):
    research: bool
    given_at: datetime | None
    withdrawn_at: datetime | None


class ConsentIn(In):
    research: bool
    text_version: str = Field("1", min_length=1, max_length=32)


class BandOut(BaseModel):
    start: float = Field(description="the band holds scores from here up to the next start")
    label: str


class ScorePointOut(BaseModel):
    timepoint: Timepoint
    series_id: int | None
    submitted_at: datetime | None
    total: float | None
    band: str | None
    subscales: dict[str, float]


class InstrumentScoresOut(BaseModel):
    instrument: str
    title: str
    range: tuple[float, float] | None
    direction: str
    bands: list[BandOut]
    bands_source: str | None
    points: list[ScorePointOut]


class AlertOut(BaseModel):
    id: int
    group_id: int
    person_id: int
    person_name: str
    instrument: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
