"""Refusals a leader can act on carry their own code (the web client words them in the
leader's language): advancing without a presenter, choosing one after the presentation."""

from __future__ import annotations

import pytest

from server.errors import ErrorCode, ProtocolError
from server.protocols import apply
from server.protocols.base import Advance, Role, SetPresenter

from .test_balint import OTHER, PRESENTER, P, at_phase, lead, start


def test_advance_without_a_presenter_says_choose_one() -> None:
    state = start()
    with pytest.raises(ProtocolError) as caught:
        apply(state, Advance(lead(state)), 0)
    assert caught.value.code == ErrorCode.PRESENTER_REQUIRED
    assert caught.value.to_wire()["code"] == "presenter_required"


def test_choosing_a_presenter_after_the_presentation_is_refused_with_its_reason() -> None:
    state = at_phase(P.QUESTIONS)
    with pytest.raises(ProtocolError) as caught:
        apply(state, SetPresenter(lead(state), OTHER, Role.MEMBER), 0)
    assert caught.value.code == ErrorCode.PRESENTER_LOCKED
    assert state.presenter_id == PRESENTER
