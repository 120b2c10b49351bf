"""Security headers on every kind of response, through a real server on loopback."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.conftest import Live, make_settings, start_app

PATHS = [
    "/api/me",  # JSON API (401)
    "/healthz",
    "/app/",  # the page (or the "not built" answer)
    "/i/not-a-real-token",  # the one-click link's redirect
    "/app",  # a redirect raised as HTTPFound
    "/no/such/page",  # aiohttp's own 404
    "/api/openapi.json",
]


async def _headers(live: Live, path: str) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(live.url + path, allow_redirects=False) as resp,
    ):
        return resp.status, dict(resp.headers)


async def test_every_response_carries_the_security_headers(live_sqlite: Live) -> None:
    live = live_sqlite
    for path in PATHS:
        status, h = await _headers(live, path)
        csp = h.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, (path, h)
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        policy = h.get("Permissions-Policy", "")
        for feature in ("camera=(self)", "microphone=(self)", "display-capture=(self)"):
            assert feature in policy, (path, policy)
        assert h.get("Cross-Origin-Opener-Policy") == "same-origin", (path, h)
        assert h.get("X-Content-Type-Options") == "nosniff"
        assert "aiohttp" not in h.get("Server", "") and "Python" not in h.get("Server", "")
        # plain http: no HSTS (it would pin a name to https that is not served)
        assert "Strict-Transport-Security" not in h, (path, h)
    for redirect in ("/i/not-a-real-token", "/app"):
        status, h = await _headers(live, redirect)
        assert status == 302 and "Content-Security-Policy" in h, (redirect, status, h)


async def test_hsts_when_the_public_url_is_https(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        sqlite_url, tmp_path, public_url="https://circle.example.org", cookie_secure=True
    )
    runner, live = await start_app(settings)
    try:
        for path in ("/api/me", "/i/x", "/app/"):
            _, h = await _headers(live, path)
            assert h.get("Strict-Transport-Security", "").startswith("max-age="), (path, h)
    finally:
        await runner.cleanup()
