"""The one token scheme: purpose-scoped keys, canonical signatures, expiry; and no other
module signs links with its own HMAC."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from server.auth import tokens
from server.auth.tokens import TokenPurpose
from server.domain import GroupRole
from server.errors import Gone, Unauthenticated
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]


def test_a_token_of_one_purpose_never_passes_as_another() -> None:
    confirm = tokens.mint_confirm_token(SECRET, series_id=3, person_id=7)
    assert tokens.verify_confirm_token(SECRET, confirm) == tokens.ConfirmClaims(3, 7)
    for purpose in TokenPurpose:
        if purpose is not TokenPurpose.CONFIRM:
            with pytest.raises(Unauthenticated):
                tokens.unsign(SECRET, purpose, confirm)
    join = tokens.mint_join_token(SECRET, person_id=7, session_id=1, role=GroupRole.MEMBER)
    with pytest.raises(Unauthenticated):
        tokens.verify_confirm_token(SECRET, join)
    with pytest.raises(Unauthenticated):
        tokens.verify_confirm_token("another-secret-0123456789abcdefghijklmnopqrstuv", confirm)


def test_only_the_canonical_signature_is_accepted() -> None:
    token = tokens.mint_confirm_token(SECRET, series_id=3, person_id=7)
    body, mac = token.split(".")
    # 32 bytes in unpadded base64url: the last character's two low bits are padding. A
    # lenient decoder would accept the same signature spelled with other padding bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(mac[-1])
    for other in range(last & ~3, (last & ~3) + 4):
        if other != last:
            with pytest.raises(Unauthenticated):
                tokens.verify_confirm_token(SECRET, f"{body}.{mac[:-1]}{alphabet[other]}")


def test_confirmation_links_expire_after_a_year() -> None:
    issued = time.time() - tokens.CONFIRM_TTL_S - 5
    token = tokens.mint_confirm_token(SECRET, series_id=1, person_id=2, now=issued)
    with pytest.raises(Gone):
        tokens.verify_confirm_token(SECRET, token)


def test_every_payload_carries_an_expiry() -> None:
    with pytest.raises(ValueError, match="exp"):
        tokens.sign(SECRET, TokenPurpose.INVITE, {"p": 1})


def test_no_module_but_tokens_signs_with_hmac() -> None:
    """grep: one link-signing scheme (TURN credentials are coturn's own format, not a link)."""
    signers = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "server").rglob("*.py")
        if re.search(r"\bhmac\.new\(", p.read_text())
    }
    assert signers <= {"server/auth/tokens.py", "server/media/ice.py"}, signers
