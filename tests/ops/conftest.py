"""The signaling tests' live server and peers, for the operator-facing tests."""

from tests.signaling.conftest import media_server, server

__all__ = ["media_server", "server"]
