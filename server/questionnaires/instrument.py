"""The instrument file schema: one YAML (or JSON) file per instrument, read like a REDCap data
dictionary (one entry per item: variable name, text per language, choices, reverse, required).

A file is validated completely before it is used; a bad file is refused with a message naming
the file and the field (``phq9.yaml: items.8.scale: unknown scale 'freq'``). The checks go beyond
types: every item's scale exists, each score's declared range equals the range its items and
rule produce, bands start at the bottom of the range and rise, the safety rule names a real
item and a value inside its scale, and every language the file claims is present on every item.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
LangText = dict[Lang, Text]
INSTRUMENT_ID = r"^[a-z][a-z0-9]{1,31}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Redistribution(StrEnum):
    FULL_TEXT = "full_text"  # the licence allows shipping the item text
    STRUCTURE_ONLY = "structure_only"  # licensed text: placeholders; an organisation adds it
    OWN = "own"  # written for Healers' Circle (or the organisation's own)


class Direction(StrEnum):
    HIGHER_IS_BETTER = "better"
    HIGHER_IS_WORSE = "worse"


class Method(StrEnum):
    SUM = "sum"
    MEAN = "mean"
    SUM_TIMES = "sum_times"  # sum x factor (WHO-5: raw sum x 4)


class ItemType(StrEnum):
    SCALE = "scale"
    TEXT = "text"  # free text (evaluation forms); never scored


class Choice(Strict):
    value: int = Field(ge=-1000, le=1000)
    label: LangText | None = None  # None: a neutral label (the value itself)


class Scale(Strict):
    choices: list[Choice] = Field(min_length=2, max_length=21)

    @model_validator(mode="after")
    def _ascending(self) -> Scale:
        values = [c.value for c in self.choices]
        if values != sorted(set(values)):
            raise ValueError("choices must have distinct values in ascending order")
        return self

    @property
    def values(self) -> frozenset[int]:
        return frozenset(c.value for c in self.choices)

    @property
    def low(self) -> int:
        return self.choices[0].value

    @property
    def high(self) -> int:
        return self.choices[-1].value


class Item(Strict):
    id: Ident
    type: ItemType = ItemType.SCALE
    text: LangText | None = None  # None: a placeholder ("Item 3"), see Instrument.item_text
    scale: Ident | None = None  # default: the instrument's default_scale
    reverse: bool = False
    required: bool = True


class Reliability(Strict):
    alpha: float = Field(gt=0, lt=1)  # Cronbach's alpha, for the reliable-change index
    source: Text


class Band(Strict):
    from_: float = Field(alias="from")  # the band holds scores >= from (and < the next from)
    label: LangText


class Bands(Strict):
    source: Text
    cuts: list[Band] = Field(min_length=2, max_length=10)


class Score(Strict):
    """The total or a subscale: which items, how they combine, the valid range, bands."""

    method: Method
    factor: float = Field(1.0, gt=0, le=1000)
    items: list[Ident] | Literal["all"] = "all"
    range: tuple[float, float]
    reliability: Reliability | None = None
    bands: Bands | None = None


class Subscale(Score):
    id: Ident
    label: LangText


class Licence(Strict):
    name: Text
    redistribution: Redistribution
    url: Text | None = None
    note: Text | None = None


class Safety(Strict):
    """Any answer above ``above`` on ``item`` triggers the safety rule (notify the leaders, show
    the member where to get help now; the help text is organisation configuration)."""

    item: Ident
    above: int


class Kind(StrEnum):
    OUTCOME = "outcome"  # a pre/post/follow-up measure
    CHECKIN = "checkin"  # after a session
    EVALUATION = "evaluation"  # at the end of a series


class Instrument(Strict):
    id: Annotated[str, StringConstraints(pattern=INSTRUMENT_ID)]
    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
    kind: Kind = Kind.OUTCOME
    title: LangText
    citation: Text
    licence: Licence
    languages: list[Lang] = Field(default_factory=list)  # languages whose item text is here
    instructions: LangText | None = None
    direction: Direction
    scales: dict[Ident, Scale] = Field(min_length=1)
    default_scale: Ident | None = None
    items: list[Item] = Field(min_length=1, max_length=200)
    total: Score | None = None
    subscales: list[Subscale] = Field(default_factory=list)
    safety: Safety | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        ids = [i.id for i in self.items]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"items: duplicate id(s) {', '.join(dup)}")
        if self.default_scale is not None and self.default_scale not in self.scales:
            raise ValueError(f"default_scale: unknown scale {self.default_scale!r}")
        for n, item in enumerate(self.items):
            self._check_item(n, item)
        if self.total is None and not self.subscales:
            raise ValueError("total: an instrument needs a total or at least one subscale")
        if self.total is not None:
            self._check_score("total", self.total)
        sub_ids = [s.id for s in self.subscales]
        if len(set(sub_ids)) != len(sub_ids) or "total" in sub_ids:
            raise ValueError("subscales: ids must be distinct and not 'total'")
        for n, sub in enumerate(self.subscales):
            self._check_score(f"subscales.{n}", sub)
        if self.safety is not None:
            target = self.item(self.safety.item)
            if target is None or target.type is not ItemType.SCALE:
                raise ValueError(f"safety.item: no scale item {self.safety.item!r}")
            scale = self.scale_of(target)
            if not scale.low <= self.safety.above < scale.high:
                raise ValueError("safety.above: must lie inside the item's scale")
        if "en" not in self.title:
            raise ValueError("title: needs an 'en' entry")
        return self

    def _check_item(self, n: int, item: Item) -> None:
        where = f"items.{n}"
        if item.type is ItemType.SCALE:
            name = item.scale or self.default_scale
            if name is None:
                raise ValueError(f"{where}.scale: no scale and no default_scale")
            if name not in self.scales:
                raise ValueError(f"{where}.scale: unknown scale {name!r}")
        elif item.reverse or item.scale:
            raise ValueError(f"{where}: a text item has no scale and is not reversed")
        if item.text is None:
            if self.languages:
                raise ValueError(f"{where}.text: missing, but languages lists {self.languages}")
            return
        missing = [lang for lang in self.languages if lang not in item.text]
        extra = [lang for lang in item.text if lang not in self.languages]
        if missing:
            raise ValueError(f"{where}.text: no {'/'.join(missing)} text but languages lists it")
        if extra:
            raise ValueError(f"{where}.text: {'/'.join(extra)} is not in languages")

    def _check_score(self, where: str, score: Score) -> None:
        if score.items != "all":
            if len(set(score.items)) != len(score.items):
                raise ValueError(f"{where}.items: an item is listed twice")
            for name in score.items:
                item = self.item(name)
                if item is None:
                    raise ValueError(f"{where}.items: unknown item {name!r}")
                if item.type is not ItemType.SCALE:
                    raise ValueError(f"{where}.items: {name!r} is a text item")
        scales = [self.scale_of(i) for i in self.score_items(score)]
        if not scales:
            raise ValueError(f"{where}.items: no scale items to score")
        lo: float = sum(s.low for s in scales)
        hi: float = sum(s.high for s in scales)
        if score.method is Method.MEAN:
            lo, hi = lo / len(scales), hi / len(scales)
        elif score.method is Method.SUM_TIMES:
            lo, hi = lo * score.factor, hi * score.factor
        elif score.factor != 1.0:
            raise ValueError(f"{where}.factor: only for method sum_times")
        if (round(lo, 6), round(hi, 6)) != (round(score.range[0], 6), round(score.range[1], 6)):
            raise ValueError(f"{where}.range: the items give {lo:g}..{hi:g}, not {score.range}")
        if score.bands is not None:
            starts = [b.from_ for b in score.bands.cuts]
            if starts[0] != lo or starts != sorted(set(starts)) or starts[-1] > hi:
                raise ValueError(
                    f"{where}.bands: must start at {lo:g}, rise strictly and stay <= {hi:g}"
                )

    # --- lookups
    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    def scale_of(self, item: Item) -> Scale:
        name = item.scale or self.default_scale
        assert name is not None and item.type is ItemType.SCALE
        return self.scales[name]

    def score_items(self, score: Score) -> list[Item]:
        if score.items == "all":
            return [i for i in self.items if i.type is ItemType.SCALE]
        return [i for i in self.items if i.id in set(score.items)]

    def scores(self) -> list[tuple[str, Score]]:
        """("total", total) first if present, then each subscale by id."""
        out: list[tuple[str, Score]] = [("total", self.total)] if self.total else []
        return out + [(s.id, s) for s in self.subscales]

    def item_text(self, item: Item, lang: str) -> tuple[str, str]:
        """The item's text and the language it is in: ``lang`` if the file carries it, else the
        instrument's first language, else a neutral placeholder ("Item 3") in English."""
        if item.text:
            if lang in item.text:
                return item.text[lang], lang
            first = self.languages[0] if self.languages else next(iter(item.text))
            return item.text[first], first
        return f"Item {self.items.index(item) + 1}", "en"
