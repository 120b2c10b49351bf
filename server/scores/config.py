"""Score configuration: weights, normalisations and level thresholds (setting ``scores``).

The paper gives the weights and nothing else; every default below is ours and documented in
docs/scores.md. A count is normalised as min(count / full, 1): ``full`` is the count that
earns the whole term.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

INDIVIDUAL_LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H", "I")
GROUP_LETTERS = ("X", "A", "B", "C", "D", "E", "F")


def _floats(values: dict[str, int]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


class ScoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Individual = 4A + 5B + 5C + 4D + 5E + 4F + 5G + 3H + 5I (Table 3)
    individual_weights: dict[str, float] = Field(
        default_factory=lambda: _floats(
            {
                "A": 4,
                "B": 5,
                "C": 5,
                "D": 4,
                "E": 5,
                "F": 4,
                "G": 5,
                "H": 3,
                "I": 5,
            }
        )
    )
    # Group = X + 5A + 5B + 3C + 4D + 5E + 5F (Table 4)
    group_weights: dict[str, float] = Field(
        default_factory=lambda: _floats({"X": 1, "A": 5, "B": 5, "C": 3, "D": 4, "E": 5, "F": 5})
    )
    # Counts that earn a whole term (individual C, D, F, G, H; group X, C, D, F).
    individual_full: dict[str, float] = Field(
        default_factory=lambda: _floats({"C": 7, "D": 5, "F": 8, "G": 3, "H": 20})
    )
    group_full: dict[str, float] = Field(
        default_factory=lambda: _floats({"X": 5, "C": 4, "D": 50, "F": 2})
    )
    # Questionnaire change (individual I, group E): an improvement of this share of the
    # instrument's range earns the whole term; no change or worse earns nothing.
    change_full_share: float = Field(0.5, gt=0, le=1)
    # Group B, order of meetings: this share from regularity, the rest from attendance.
    group_regularity_share: float = Field(0.5, ge=0, le=1)
    # Levels: the lowest total (points) that reaches each, in order.
    individual_levels: dict[str, float] = Field(
        default_factory=lambda: _floats(
            {"traveler": 0, "wayfarer": 10, "facilitator": 20, "leader": 30}
        )
    )
    group_levels: dict[str, float] = Field(
        default_factory=lambda: _floats({"silver": 0, "gold": 7, "platinum": 14, "diamond": 21})
    )

    @model_validator(mode="after")
    def _check(self) -> ScoreConfig:
        for name, weights, letters in (
            ("individual_weights", self.individual_weights, INDIVIDUAL_LETTERS),
            ("group_weights", self.group_weights, GROUP_LETTERS),
        ):
            if set(weights) != set(letters):
                raise ValueError(f"{name} must give exactly the terms {', '.join(letters)}")
            if any(w < 0 for w in weights.values()):
                raise ValueError(f"{name}: weights must not be negative")
        for name, full, counted in (
            ("individual_full", self.individual_full, "CDFGH"),
            ("group_full", self.group_full, "XCDF"),
        ):
            if not set(full) <= set(counted):
                raise ValueError(f"{name}: only the counted terms {', '.join(counted)}")
            if any(v <= 0 for v in full.values()):
                raise ValueError(f"{name}: every count must be above 0")
        for name, levels in (
            ("individual_levels", self.individual_levels),
            ("group_levels", self.group_levels),
        ):
            if len(levels) != 4:
                raise ValueError(f"{name} must name four levels")
            values = list(levels.values())
            if values != sorted(values) or values[0] != 0:
                raise ValueError(f"{name}: thresholds start at 0 and rise")
        return self
