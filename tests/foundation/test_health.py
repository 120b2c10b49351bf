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


async def test_readyz_answers_the_proxy_from_its_last_probe(live, api_factory, monkeypatch):
    """The proxy's frequent checks do no database work: a probe's answer holds for MAX_AGE_S,
    then the database is asked again (and a failure answers 503 naming the database)."""
    from server import app as app_module

    api = api_factory(live)
    assert (await api.get("/readyz"))[0] == 200
    calls = 0

    async def broken(db: Database) -> str | None:
        nonlocal calls
        calls += 1
        raise OSError("database gone")

    monkeypatch.setattr("server.app.migrate.current_revision", broken)
    for _ in range(5):
        assert (await api.get("/readyz"))[0] == 200
    assert calls == 0
    live.app[app_module.READINESS_KEY].at -= app_module.Readiness.MAX_AGE_S
    status, body = await api.get("/readyz")
    assert status == 503 and body["database"] is False and calls == 1
    assert (await api.get("/readyz"))[0] == 503 and calls == 1  # the failure is cached too


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
