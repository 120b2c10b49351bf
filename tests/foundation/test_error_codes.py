"""Every error code the server sends is an ErrorCode, and the web client words each one.

A code without an ``error.<code>`` text left users with the server's English message (or
nothing useful); a code spelled as a bare string outside the enum escaped that check.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from server.errors import CircleError, ErrorCode, error_body

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "web_client" / "src" / "i18n"
KEY = re.compile(r'^\s*"([A-Za-z0-9_.]+)"\s*:', re.M)


def catalogue_keys(locale: str) -> set[str]:
    """The locale's keys: its catalogue file plus that locale's block in every part file."""
    keys = set(KEY.findall((CATALOGUES / f"{locale}.ts").read_text(encoding="utf-8")))
    block = re.compile(rf"^export const {locale}\b.*?^}}", re.M | re.S)
    for part in sorted((CATALOGUES / "parts").glob("*.ts")):
        for match in block.finditer(part.read_text(encoding="utf-8")):
            keys |= set(KEY.findall(match.group(0)))
    return keys


@pytest.mark.parametrize("locale", ["en", "fa", "nl"])
def test_every_error_code_has_a_text_in_the_catalogue(locale: str) -> None:
    keys = catalogue_keys(locale)
    missing = sorted(code.value for code in ErrorCode if f"error.{code.value}" not in keys)
    assert missing == [], f"{locale}.ts lacks error.<code> for {missing}"


def _code_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals that stand for an error code: ``code="x"``, ``code = "x"``, ``{"code": "x"}``."""
    found: list[tuple[int, str]] = []
    value: ast.expr | None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code":
            value = node.value
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                continue
            value = node.value
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(k, ast.Constant)
                    and k.value == "code"
                    and isinstance(v, ast.Constant)
                    and isinstance(v.value, str)
                ):
                    found.append((v.lineno, v.value))
            continue
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found.append((value.lineno, value.value))
    return found


def test_no_error_code_is_spelled_outside_the_enum() -> None:
    known = {code.value for code in ErrorCode}
    strays = [
        f"{path.relative_to(ROOT)}:{line} {text!r}"
        for path in sorted((ROOT / "server").rglob("*.py"))
        for line, text in _code_literals(ast.parse(path.read_text(encoding="utf-8")))
        if text not in known
    ]
    assert strays == []


def test_every_error_class_and_the_fallback_send_an_error_code() -> None:
    classes = [CircleError]
    while classes:
        cls = classes.pop()
        assert cls.code in {c.value for c in ErrorCode}, cls
        classes.extend(cls.__subclasses__())
    assert error_body(RuntimeError("boom"))["error"]["code"] == ErrorCode.INTERNAL
    # On the wire a code is the plain string.
    assert type(CircleError("x", code=ErrorCode.USED).to_wire()["code"]) is str
