"""Loading instrument files: the shipped ones, then the organisation's directory
(``instruments_dir``), whose files override shipped ones with the same id or add new ones.

Every file is validated completely at start-up (``server.questionnaires.setup``) and by
``circle instruments validate FILE``; one bad file stops the start with a message naming the file
and the field, so a typo never reaches a member's form.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from server.errors import NotFound, UserError
from server.questionnaires.instrument import Instrument

SHIPPED_DIR = Path(__file__).resolve().parent / "instruments"
SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 1024 * 1024


class InstrumentFileError(UserError):
    """An instrument file is unreadable or invalid; the message names the file and the field."""


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _read(path: Path) -> Any:
    if path.suffix not in SUFFIXES:
        raise InstrumentFileError(f"{path.name}: an instrument file ends in .yaml, .yml or .json")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InstrumentFileError(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstrumentFileError(f"{path.name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InstrumentFileError(f"{path.name}: not UTF-8 text") from None
    try:
        return json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InstrumentFileError(f"{path.name}: not valid {path.suffix[1:]}: {first}") from None


def parse_file(path: Path) -> Instrument:
    """Read and validate one instrument file; its name (without suffix) must be its id."""
    data = _read(path)
    if not isinstance(data, dict):
        raise InstrumentFileError(f"{path.name}: the top level must be a mapping")
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as exc:
        raise InstrumentFileError(f"{path.name}: {_describe(exc)}") from None
    if path.stem != instrument.id:
        raise InstrumentFileError(f"{path.name}: id: {instrument.id!r} must match the file name")
    return instrument


@dataclass
class Registry:
    """The instruments in force: id -> instrument, and the file each came from."""

    instruments: dict[str, Instrument] = field(default_factory=dict)
    origin: dict[str, Path] = field(default_factory=dict)

    def get(self, instrument_id: str) -> Instrument:
        found = self.instruments.get(instrument_id)
        if found is None:
            raise NotFound(f"no instrument {instrument_id!r}", field="instrument")
        return found

    def ids(self) -> list[str]:
        return sorted(self.instruments)

    def is_shipped(self, instrument_id: str) -> bool:
        return self.origin[instrument_id].parent == SHIPPED_DIR


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def load_registry(org_dir: Path | None = None) -> Registry:
    """The shipped instruments overlaid with the organisation's directory (if it exists)."""
    reg = Registry()
    dirs = [SHIPPED_DIR] + ([org_dir] if org_dir is not None and org_dir.is_dir() else [])
    for directory in dirs:
        seen: set[str] = set()
        for path in _files(directory):
            inst = parse_file(path)
            if inst.id in seen:
                raise InstrumentFileError(
                    f"{path.name}: id: {inst.id!r} appears twice in {directory}"
                )
            seen.add(inst.id)
            reg.instruments[inst.id] = inst
            reg.origin[inst.id] = path
    return reg


def add_file(path: Path, org_dir: Path) -> Instrument:
    """Validate ``path`` and copy it into ``org_dir`` (the organisation's licensed text). An
    invalid file is refused and nothing is copied; the copy is written whole (rename)."""
    instrument = parse_file(path)
    org_dir.mkdir(parents=True, exist_ok=True)
    clash = [p for p in _files(org_dir) if p.stem == instrument.id and p.name != path.name]
    if clash:
        raise InstrumentFileError(f"{path.name}: id: {clash[0].name} already defines it; remove it")
    target = org_dir / path.name
    tmp = org_dir / f".{path.name}.tmp"
    shutil.copyfile(path, tmp)
    tmp.replace(target)
    return instrument
