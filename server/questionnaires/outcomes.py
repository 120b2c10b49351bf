"""Outcome reports: the submitted scores of a series, a group, an organisation (optionally one
protocol or profession) or an imported cohort, paired per person, through ``stats.paired``.

Who is counted:
- Statistics (``rows``) use submitted responses of people with research consent in force (scope
  ``research`` or ``series:<id>``, not withdrawn); imported cohorts carry the importing team's
  consent. A withdrawal takes effect at once for every later report and export.
- Completion counts forms only (no scores): per instrument and timepoint, the submitted forms out
  of the participants (active members of the series' group and anyone with a response there).
- A person is paired within one series (or cohort): the same person in two series is two units.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import String, cast, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from server.db.models import Group, Membership, Person, Series
from server.domain import GroupRole, MembershipStatus, ProtocolKind
from server.questionnaires.instrument import Direction, Kind
from server.questionnaires.models import (
    QuestionnaireResponse as QR,
)
from server.questionnaires.models import (
    ResearchConsent,
    ResponseStatus,
    Timepoint,
)
from server.questionnaires.registry import Registry
from server.questionnaires.stats import paired, reliable_change

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
ScopeKind = Literal["series", "group", "organisation", "cohort"]
COMPARISONS: tuple[tuple[str, Timepoint, Timepoint], ...] = (
    ("pre_post", Timepoint.PRE, Timepoint.POST),
    ("pre_followup", Timepoint.PRE, Timepoint.FOLLOWUP),
)
COMPLETION_TIMEPOINTS = (Timepoint.PRE, Timepoint.POST, Timepoint.FOLLOWUP)


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: int  # series, group, organisation or cohort id
    organisation_id: int
    label: str
    protocol: ProtocolKind | None = None  # organisation scope only
    profession: str | None = None  # series scopes only


@dataclass
class Observations:
    """Scores by (instrument, score, timepoint) -> {unit: value}; versions seen per instrument."""

    values: dict[tuple[str, str, Timepoint], dict[str, float]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    codes: dict[str, str] = field(default_factory=dict)  # unit -> pseudonymous code
    versions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    submitted: dict[tuple[str, Timepoint], int] = field(default_factory=lambda: defaultdict(int))
    participants: int = 0


def consented() -> Any:
    series_scope = literal("series:").concat(cast(QR.series_id, String))
    return exists().where(
        ResearchConsent.person_id == QR.person_id,
        ResearchConsent.withdrawn_at.is_(None),
        or_(ResearchConsent.scope == "research", ResearchConsent.scope == series_scope),
    )


def _series_filter(q: SelectT, scope: Scope, series_id: Any, person_id: Any) -> SelectT:
    """Narrow ``q`` (whose rows have a series id and a person id) to a series-based scope."""
    if scope.kind == "series":
        q = q.where(series_id == scope.id)
    else:
        if series_id is not Series.id:
            q = q.join(Series, Series.id == series_id)
        if scope.kind == "group":
            q = q.where(Series.group_id == scope.id)
        else:
            q = q.join(Group, Group.id == Series.group_id).where(Group.organisation_id == scope.id)
            if scope.protocol is not None:
                q = q.where(Group.protocol == scope.protocol)
    if scope.profession is not None:
        q = q.join(Person, Person.id == person_id).where(Person.profession == scope.profession)
    return q


def restrict(q: Select[Any], scope: Scope) -> Select[Any]:
    """Narrow a query over questionnaire responses to the scope."""
    if scope.kind == "cohort":
        return q.where(QR.cohort_id == scope.id)
    return _series_filter(q, scope, QR.series_id, QR.person_id)


async def _member_units(s: AsyncSession, scope: Scope) -> set[str]:
    if scope.kind == "cohort":
        return set()
    q = (
        select(Series.id, Membership.person_id)
        .join(Membership, Membership.group_id == Series.group_id)
        .where(Membership.role == GroupRole.MEMBER, Membership.status == MembershipStatus.ACTIVE)
    )
    q = _series_filter(q, scope, Series.id, Membership.person_id)
    return {f"s{sid}:p{pid}" for sid, pid in (await s.execute(q)).all()}


async def load(s: AsyncSession, scope: Scope) -> Observations:
    """One pass over the scope's pre/post/follow-up forms: completion counts every form, the
    scores only those of consenting people (see the module docstring)."""
    obs = Observations()
    units = await _member_units(s, scope)
    allowed = literal(True) if scope.kind == "cohort" else consented()
    q = restrict(
        select(QR.series_id, QR.cohort_id, QR.person_id, QR.person_code, QR.instrument)
        .add_columns(QR.instrument_version, QR.timepoint, QR.status, QR.scores)
        .add_columns(allowed.label("allowed"))
        .where(QR.timepoint.in_(COMPLETION_TIMEPOINTS)),
        scope,
    )
    submitted = ResponseStatus.SUBMITTED
    for row in await s.execute(q):
        series_id, cohort_id, person_id, code, instrument, version, tp, status, scores, ok = row
        unit = f"s{series_id}:p{person_id}" if cohort_id is None else f"c{cohort_id}:{code}"
        units.add(unit)
        if status is not submitted:
            continue
        obs.submitted[(instrument, tp)] += 1
        if not ok or not scores:
            continue
        obs.codes[unit] = code
        obs.versions[instrument].add(version)
        if scores.get("total") is not None:
            obs.values[(instrument, "total", tp)][unit] = float(scores["total"])
        for name, value in (scores.get("subscales") or {}).items():
            obs.values[(instrument, name, tp)][unit] = float(value)
    obs.participants = len(units)
    return obs


def build(
    scope: Scope, obs: Observations, registry: Registry, *, points: bool = False
) -> dict[str, Any]:
    """The report: ``rows`` (one per instrument, score and comparison), ``completion`` and,
    with ``points``, each pseudonymous unit's scores for plots (and its Jacobson-Truax RCI per
    comparison, ``rci_pre_post``/``rci_pre_followup``, where the instrument gives a reliability)."""
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    plot: list[dict[str, Any]] = []
    for instrument in sorted(obs.versions):
        inst = registry.instruments.get(instrument)
        if inst is None:
            warnings.append(f"{instrument}: no instrument file; its responses are not reported")
            continue
        if inst.kind is not Kind.OUTCOME:
            continue
        versions = ";".join(sorted(obs.versions[instrument]))
        for name, score in inst.scores():
            series = {
                tp: obs.values.get((instrument, name, tp), {}) for tp in COMPLETION_TIMEPOINTS
            }
            if not any(series.values()):
                continue  # e.g. the subscales of an imported cohort that has totals only
            rci: dict[str, dict[str, float]] = defaultdict(dict)  # unit -> comparison -> RCI
            for label, first, second in COMPARISONS:
                units = sorted(set(series[first]) & set(series[second]))
                if not units and second is Timepoint.FOLLOWUP:
                    continue
                before = [series[first][u] for u in units]
                after = [series[second][u] for u in units]
                alpha = score.reliability.alpha if score.reliability else None
                result = paired(
                    before,
                    after,
                    reliability=alpha,
                    higher_is_better=inst.direction is Direction.HIGHER_IS_BETTER,
                )
                if points and alpha is not None:
                    values = reliable_change(before, after, reliability=alpha) or []
                    for unit, value in zip(units, values, strict=False):
                        rci[unit][f"rci_{label}"] = round(value, 4)
                rows.append(
                    {
                        "instrument": instrument,
                        "instrument_versions": versions,
                        "score": name,
                        "comparison": label,
                        "higher_is": inst.direction.value,
                        **result.as_dict(),
                    }
                )
            if points:
                for unit in sorted(set().union(*[set(v) for v in series.values()])):
                    plot.append(
                        {
                            "instrument": instrument,
                            "score": name,
                            "person_code": obs.codes[unit],
                            **{tp.value: series[tp].get(unit) for tp in COMPLETION_TIMEPOINTS},
                            **rci.get(unit, {}),
                        }
                    )
    completion = [
        {
            "instrument": instrument,
            "timepoint": tp.value,
            "participants": obs.participants,
            "submitted": n,
            "rate": round(n / obs.participants, 4) if obs.participants else None,
        }
        for (instrument, tp), n in sorted(
            obs.submitted.items(), key=lambda kv: (kv[0][0], COMPLETION_TIMEPOINTS.index(kv[0][1]))
        )
    ]
    report: dict[str, Any] = {
        "scope": {
            "kind": scope.kind,
            "id": scope.id,
            "label": scope.label,
            "protocol": scope.protocol.value if scope.protocol else None,
            "profession": scope.profession,
        },
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "completion": completion,
        "warnings": warnings,
    }
    if points:
        report["points"] = plot
    return report
