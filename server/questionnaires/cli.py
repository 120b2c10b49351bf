"""``circle instruments list|show ID|add FILE|validate FILE``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from server.questionnaires.instrument import Instrument, ItemType
from server.questionnaires.registry import SHIPPED_DIR, add_file, load_registry, parse_file
from server.settings import Settings

SettingsLoader = Callable[[argparse.Namespace], Settings]


def _text_kind(inst: Instrument) -> str:
    return ",".join(inst.languages) if inst.languages else "placeholders"


def cmd_list(settings: Settings) -> int:
    reg = load_registry(settings.effective_instruments_dir)
    print(f"{'id':<12}{'version':<9}{'kind':<12}{'text':<14}{'from':<14}title")
    for iid in reg.ids():
        inst = reg.get(iid)
        origin = "shipped" if reg.is_shipped(iid) else "organisation"
        print(
            f"{iid:<12}{inst.version:<9}{inst.kind.value:<12}{_text_kind(inst):<14}"
            f"{origin:<14}{inst.title['en']}"
        )
    return 0


def describe(inst: Instrument, lang: str = "en") -> str:
    """A plain reading of an instrument file (what ``circle instruments show`` prints)."""
    lines = [
        f"{inst.id} (version {inst.version}, {inst.kind.value}): {inst.title['en']}",
        f"citation: {inst.citation}",
        f"licence: {inst.licence.name} [{inst.licence.redistribution.value}]",
        f"item text: {_text_kind(inst)}",
        f"higher is {inst.direction.value}",
        "items:",
    ]
    for n, item in enumerate(inst.items, 1):
        text, _ = inst.item_text(item, lang)
        if item.type is ItemType.TEXT:
            detail = "free text"
        else:
            scale = inst.scale_of(item)
            detail = f"{scale.low}-{scale.high}" + (", reversed" if item.reverse else "")
        lines.append(f"  {n:>2}. {item.id:<16} [{detail}] {text}")
    for name, score in inst.scores():
        alpha = f", alpha {score.reliability.alpha}" if score.reliability else ""
        lines.append(
            f"score {name}: {score.method.value}"
            + (f" x {score.factor:g}" if score.factor != 1 else "")
            + f", range {score.range[0]:g}-{score.range[1]:g}{alpha}"
        )
        if score.bands:
            cuts = ", ".join(f">= {b.from_:g} {b.label['en']}" for b in score.bands.cuts)
            lines.append(f"  bands ({score.bands.source}): {cuts}")
    if inst.safety:
        lines.append(f"safety: {inst.safety.item} above {inst.safety.above}")
    return "\n".join(lines)


def cmd_show(settings: Settings, instrument_id: str, as_json: bool) -> int:
    inst = load_registry(settings.effective_instruments_dir).get(instrument_id)
    if as_json:
        print(json.dumps(inst.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2))
    else:
        print(describe(inst))
    return 0


def cmd_validate(path: Path) -> int:
    inst = parse_file(path)
    print(
        f"ok: {inst.id} version {inst.version}, {len(inst.items)} items, text: {_text_kind(inst)}"
    )
    return 0


def cmd_add(settings: Settings, path: Path) -> int:
    target_dir = settings.effective_instruments_dir
    inst = add_file(path, target_dir)
    load_registry(target_dir)  # the whole set still loads
    replaces = (SHIPPED_DIR / f"{inst.id}.yaml").exists()
    verb = "overrides the shipped" if replaces else "adds"
    print(
        f"added {path.name} to {target_dir}: {verb} instrument {inst.id} (version {inst.version})"
    )
    return 0
