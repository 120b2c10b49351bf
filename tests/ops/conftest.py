"""The signaling tests' live server and peers, for the operator-facing tests."""

from tests.signaling.conftest import server

__all__ = ["server"]
