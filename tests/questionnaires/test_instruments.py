"""Instrument files: every shipped file validates; a malformed file is refused with a message that
names the file and the field, and `circle instruments add` copies nothing then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from server.questionnaires.instrument import Redistribution
from server.questionnaires.registry import (
    SHIPPED_DIR,
    InstrumentFileError,
    load_registry,
    parse_file,
)
from tests.conftest import make_settings
from tests.foundation.test_cli import run

SHIPPED = ["bat", "cbi", "cdas", "cdrisc", "checkin", "evaluation", "gad7", "phq9", "who5"]


def test_shipped_instruments_load_with_their_structure():
    reg = load_registry(None)
    assert reg.ids() == SHIPPED
    assert [len(reg.get(i).items) for i in ("phq9", "gad7", "who5", "cbi")] == [9, 7, 5, 19]
    assert [len(reg.get(i).items) for i in ("cdas", "cdrisc", "bat")] == [18, 25, 23]
    for licensed in ("cdas", "cdrisc", "bat"):
        inst = reg.get(licensed)
        assert inst.licence.redistribution is Redistribution.STRUCTURE_ONLY
        assert inst.languages == [] and all(i.text is None for i in inst.items)
        assert inst.item_text(inst.items[2], "fa") == ("Item 3", "en")
    phq9 = reg.get("phq9")
    assert phq9.safety is not None and (phq9.safety.item, phq9.safety.above) == ("item_9", 0)
    # fa/nl only where the file carries it: PHQ-9 is shown in English to a Persian member.
    assert phq9.item_text(phq9.items[0], "fa")[1] == "en"
    assert reg.get("checkin").item_text(reg.get("checkin").items[0], "fa")[1] == "fa"
    assert [s.id for s in reg.get("cbi").subscales] == ["personal", "work", "client"]
    assert reg.get("cbi").total is None
    assert [i.id for i in reg.get("cbi").items if i.reverse] == ["wb_7"]


def _phq9() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SHIPPED_DIR / "phq9.yaml").read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "phq9.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _break(change) -> dict[str, Any]:
    data = _phq9()
    change(data)
    return data


BAD = [
    (lambda d: d["items"][3].update(scale="freqq"), "items.3.scale: unknown scale 'freqq'"),
    (lambda d: d["total"].update(range=[0, 30]), "total.range: the items give 0..27"),
    (lambda d: d.update(safety={"item": "item_10", "above": 0}), "safety.item"),
    (lambda d: d.update(safety={"item": "item_9", "above": 3}), "safety.above"),
    (lambda d: d["items"][0]["text"].pop("en"), "items.0.text: no en text"),
    (lambda d: d["items"][1].update(id="item_1"), "items: duplicate id(s) item_1"),
    (lambda d: d["total"]["bands"]["cuts"][1].update({"from": 25}), "total.bands"),
    (lambda d: d["total"]["reliability"].update(alpha=1.4), "total.reliability.alpha"),
    (lambda d: d.update(colour="red"), "colour: Extra inputs are not permitted"),
    (lambda d: d.update(id="PHQ9"), "id: String should match pattern"),
    (lambda d: d["scales"]["freq"]["choices"].reverse(), "scales.freq"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_a_malformed_file_names_the_field(tmp_path, change, message):
    with pytest.raises(InstrumentFileError) as exc:
        parse_file(_write(tmp_path, _break(change)))
    assert exc.value.message.startswith("phq9.yaml: ")
    assert message in exc.value.message


def test_unreadable_and_misnamed_files(tmp_path):
    (tmp_path / "phq9.yaml").write_text("items: [unclosed", encoding="utf-8")
    with pytest.raises(InstrumentFileError, match=r"phq9.yaml: not valid yaml"):
        parse_file(tmp_path / "phq9.yaml")
    with pytest.raises(InstrumentFileError, match="must match the file name"):
        parse_file(_write(tmp_path, _phq9(), "depression.yaml"))
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(InstrumentFileError, match="top level must be a mapping"):
        parse_file(tmp_path / "list.yaml")


def test_a_bad_organisation_file_stops_the_start(tmp_path):
    from server.app import create_app

    org = tmp_path / "instruments"
    org.mkdir()
    _write(org, _break(lambda d: d["total"].update(range=[0, 30])))
    settings = make_settings("sqlite:///unused.db", tmp_path, instruments_dir=org)
    with pytest.raises(InstrumentFileError, match=r"phq9.yaml: total.range"):
        create_app(settings)


@pytest.mark.slow
def test_cli_add_overrides_a_shipped_instrument_and_refuses_a_bad_file(tmp_path):
    org = tmp_path / "var" / "instruments"
    licensed = yaml.safe_load((SHIPPED_DIR / "cdrisc.yaml").read_text(encoding="utf-8"))
    licensed["version"] = "1-org"
    licensed["languages"] = ["en"]
    for n, item in enumerate(licensed["items"], 1):
        item["text"] = {"en": f"Licensed statement {n}"}
    good = _write(tmp_path, licensed, "cdrisc.yaml")
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    licensed["items"][4]["text"] = {"nl": "tekst"}
    bad = _write(bad_dir, licensed, "cdrisc.yaml")

    r = run(["instruments", "validate", str(bad)], tmp_path)
    assert r.returncode == 2 and "cdrisc.yaml: items.4.text: no en text" in r.stderr
    r = run(["instruments", "add", str(bad)], tmp_path)
    assert r.returncode == 2 and "items.4.text" in r.stderr
    assert not org.exists() or not any(org.iterdir())  # nothing copied

    r = run(["instruments", "add", str(good)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "overrides the shipped instrument cdrisc (version 1-org)" in r.stdout
    r = run(["instruments", "list"], tmp_path)
    row = next(line for line in r.stdout.splitlines() if line.startswith("cdrisc"))
    assert "1-org" in row and "organisation" in row and " en " in row
    r = run(["instruments", "show", "cdrisc"], tmp_path)
    assert "Licensed statement 25" in r.stdout and "score control: sum, range 0-12" in r.stdout
    r = run(["instruments", "show", "nosuch"], tmp_path)
    assert r.returncode == 2 and "no instrument 'nosuch'" in r.stderr


@pytest.mark.parametrize(
    "cmd",
    [
        ["instruments"],
        ["instruments", "add"],
        ["outcomes"],
        ["import", "responses"],
        ["plausibility"],
    ],
    ids=" ".join,
)
def test_help(cmd, tmp_path):
    r = run([*cmd, "--help"], tmp_path)
    assert r.returncode == 0 and "usage: circle" in r.stdout
