"""`circle import responses`: validated row by row, all or nothing; then `circle outcomes
--cohort` reports on it exactly as on a series."""

from __future__ import annotations

import json

import pyreadstat
import pytest

from server.questionnaires.importer import parse
from server.questionnaires.registry import load_registry
from tests.foundation.test_cli import run

REG = load_registry(None)
HEADER = "person_code,instrument,timepoint,completed_at," + ",".join(
    f"item_{i}" for i in range(1, 10)
)
# A cohort shaped like the Balint study (seed 001): CDAS totals of ten people, pre mean
# 358/10 = 35.8 and post 97/10 = 9.7, as published; every person improved.
CDAS_PRE = [30, 31, 33, 34, 35, 36, 37, 39, 40, 43]
CDAS_POST = [10, 6, 12, 9, 8, 13, 7, 11, 10, 11]


def balint_csv() -> str:
    lines = ["person_code,instrument,timepoint,completed_at,total"]
    for n, (pre, post) in enumerate(zip(CDAS_PRE, CDAS_POST, strict=True), 1):
        lines.append(f"B{n:02d},cdas,pre,2020-04-01,{pre}")
        lines.append(f"B{n:02d},cdas,post,2020-04-20T10:00:00,{post}")
    return "\n".join(lines) + "\n"


def test_rows_are_validated_one_by_one():
    text = "\n".join(
        [
            HEADER + ",total",
            "P1,phq9,pre,2021-01-05,1,1,1,1,1,1,1,1,0,",  # fine: 8
            "P1,phq9,post,2021-02-05,,,,,,,,,,5",  # fine: total only
            "P 2,phq9,pre,2021-01-05,,,,,,,,,,5",  # line 4: bad code
            "P3,phq10,pre,2021-01-05,,,,,,,,,,5",  # line 5: unknown instrument
            "P4,phq9,baseline,2021-01-05,,,,,,,,,,5",  # line 6
            "P5,phq9,pre,05/01/2021,,,,,,,,,,5",  # line 7
            "P6,phq9,pre,2021-01-05,1,1,1,4,1,1,1,1,0,",  # line 8: item_4 out of range
            "P7,phq9,pre,2021-01-05,1,1,1,1,1,1,1,1,,",  # line 9: item_9 missing
            "P8,phq9,pre,2021-01-05,,,,,,,,,,28",  # line 10: total out of range
            "P9,phq9,pre,2021-01-05,1,1,1,1,1,1,1,1,0,9",  # line 11: total disagrees
            "P1,phq9,pre,2021-01-06,,,,,,,,,,3",  # line 12: duplicate of line 2
            "P10,gad7,pre,2021-01-05,1,1,1,1,1,1,1,1,,",  # line 13: gad7 has 7 items
            "P11,phq9,pre,2021-01-05,,,,,,,,,,",  # line 14: nothing
            "P12,phq9,pre,2021-01-05,x,1,1,1,1,1,1,1,0,",  # line 15
        ]
    )
    result = parse(text, REG)
    assert len(result.rows) == 2
    got = [(r.line, r.field, r.reason) for r in result.rejected]
    assert got == [
        (
            4,
            "person_code",
            "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ),
        (5, "instrument", "unknown instrument 'phq10'"),
        (6, "timepoint", "one of pre, post, followup"),
        (7, "completed_at", "an ISO 8601 date or date-time (2021-03-01 or 2021-03-01T09:30)"),
        (8, "item_4", "4 is not one of 0, 1, 2, 3"),
        (9, "item_9", "not answered (1 missing)"),
        (10, "total", "28 is outside 0..27"),
        (11, "total", "9 differs from the items' score 8"),
        (12, "person_code", "same person, instrument, timepoint as line 2"),
        (13, "item_8", "gad7 has 7 items"),
        (14, "item_1", "give the items (item_1 ..) or a total"),
        (15, "item_1", "'x' is not a whole number"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "person_code,instrument,timepoint\nP1,phq9,pre\n",
            "header: missing column(s) completed_at",
        ),
        (HEADER + ",colour\n", "header: unknown column 'colour'"),
        (HEADER + "\n", "the file has no data rows"),
    ],
)
def test_file_level_errors(text, message):
    from server.errors import UserError

    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text, REG)


@pytest.mark.slow
def test_import_then_report_on_the_cohort_like_a_series(tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    r = run(
        [
            "user",
            "add",
            "--email",
            "c@x.example",
            "--name",
            "C",
            "--org",
            "lumc",
            "--org-name",
            "L",
        ],
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    good = tmp_path / "balint.csv"
    good.write_text(balint_csv(), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(balint_csv() + "B11,cdas,pre,2020-04-01,55\nB12,cdas,pre,never,20\n", "utf-8")

    r = run(["import", "responses", str(bad), "--cohort", "balint-2020"], tmp_path)
    assert r.returncode == 2
    assert "2 of 22 rows rejected; nothing was imported" in r.stderr
    assert "line 22: total: 55 is outside 0..54" in r.stderr
    assert "line 23: completed_at: an ISO 8601 date" in r.stderr
    r = run(["outcomes", "--cohort", "balint-2020"], tmp_path)
    assert r.returncode == 2 and "no cohort named 'balint-2020'" in r.stderr  # nothing written

    r = run(["import", "responses", str(good), "--cohort", "balint-2020"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "imported 20 responses into cohort 'balint-2020'" in r.stdout
    r = run(["import", "responses", str(good), "--cohort", "balint-2020"], tmp_path)
    assert r.returncode == 2 and "20 row(s) are already in cohort" in r.stderr

    r = run(["outcomes", "--cohort", "balint-2020"], tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    total = next(x for x in report["rows"] if x["score"] == "total")
    assert (total["n_pairs"], total["pre_mean"], total["post_mean"]) == (10, 35.8, 9.7)
    # All ten improved, no ties: SPSS's asymptotic p prints as .005, as in the study.
    assert round(total["p_asymptotic"], 3) == 0.005
    assert total["p_exact"] == pytest.approx(2 / 1024)
    assert total["rci_improved"] == 10
    # Cohorts with totals only have no subscale pairs.
    assert [x["score"] for x in report["rows"]] == ["total"]
    r = run(["outcomes", "--cohort", "balint-2020", "--format", "md"], tmp_path)
    # SDs by hand: pre sqrt(149.6 / 9) = 4.08, post sqrt(44.1 / 9) = 2.21.
    assert "| cdas | pre → post | 10 | 35.80 ± 4.08 | 9.70 ± 2.21 |" in r.stdout
    assert "| .005 |" in r.stdout

    out = tmp_path / "balint.sav"
    r = run(["outcomes", "--cohort", "balint-2020", "--export", str(out)], tmp_path)
    assert r.returncode == 0 and "wrote 10 rows" in r.stdout
    frame, _ = pyreadstat.read_sav(str(out))
    assert list(frame["person_code"])[:2] == ["B01", "B02"]
    assert sum(frame["cdas_pre_total"]) == 358
    r = run(["outcomes", "--cohort", "balint-2020", "--export", str(tmp_path / "x.xlsx")], tmp_path)
    assert r.returncode == 2 and "--export: the file name ends in .csv or .sav" in r.stderr


def test_plausibility_command(tmp_path):
    r = run(
        ["plausibility", "--instrument", "cdrisc", "--n", "10", "--mean", "75.60", "--sd", "6.63"],
        tmp_path,
    )
    assert (
        r.returncode == 0
        and "warning: cdrisc total (n=10, mean 75.60, SD 6.63): GRIMMER" in r.stdout
    )
    r = run(
        ["plausibility", "--instrument", "cdas", "--n", "10", "--mean", "35.80", "--sd", "5.09"],
        tmp_path,
    )
    assert "consistent (GRIM, GRIMMER)" in r.stdout
    r = run(["plausibility", "--instrument", "cdas", "--n", "10", "--mean", "x"], tmp_path)
    assert r.returncode == 2 and "mean: 'x' is not a number" in r.stderr


def test_researcher_grant_names_what_is_wrong(tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    r = run(["researcher", "grant", "--email", "nobody@x.example", "--group", "1"], tmp_path)
    assert r.returncode == 2 and "no person with that e-mail address" in r.stderr
    r = run(["researcher", "grant", "--email", "a@x.example"], tmp_path)
    assert r.returncode == 2 and "one of the arguments --cohort --group is required" in r.stderr
