"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

from server.db.engine import Database
from tests.conftest import make_settings, start_app


async def test_healthz_and_readyz(live, api_factory):
    api = api_factory(live)
    assert await api.get("/healthz") == (200, {"status": "ok"})
    status, body = await api.get("/readyz")
    assert status == 200 and body["database"] is True and body["migrations"]


async def test_readyz_reports_unmigrated_database(tmp_path: Path, api_factory):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    db = Database(url)  # creates the file, no schema
    async with db.engine.connect():
        pass
    await db.dispose()
    runner, live = await start_app(make_settings(url, tmp_path))
    try:
        api = api_factory(live)
        assert (await api.get("/healthz"))[0] == 200
        status, body = await api.get("/readyz")
        assert status == 503 and body["migrations"] is None and body["expected"]
    finally:
        await runner.cleanup()


async def test_security_headers_and_body_limit(live, api_factory):
    api = api_factory(live)
    async with api.http.get(live.url + "/api/me") as resp:
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Cache-Control"] == "no-store"
    status, body = await api.post(
        "/api/auth/login", {"email": "a@b.example", "password": "x" * 70000}
    )
    assert status == 413 and body["error"]["code"] == "too_large"
    status, body = await api.call(
        "POST", "/api/auth/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and "JSON" in body["error"]["message"]
    status, body = await api.call(
        "POST", "/api/auth/login", data=b"email=a", headers={"Content-Type": "text/plain"}
    )
    assert status == 400 and body["error"]["code"] == "unsupported_media_type"
