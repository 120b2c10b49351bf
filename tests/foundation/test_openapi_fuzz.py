"""Schemathesis against /api/openapi.json: no 5xx, every response fits its documented schema,
for every operation of the document, and the document lists every API route of the server.

The server runs in its own thread and event loop on loopback; requests carry a coordinator
(and admin) login and the CSRF header, so generated calls reach past authentication.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from server.auth.cookies import bound_csrf
from server.db.engine import Database
from server.db.models import PersonRole
from server.domain import OrgRole
from tests.conftest import SECRET, fresh_db_url, make_settings, start_app

from .seed import seed, session_cookie

EXAMPLES = int(os.environ.get("CIRCLE_FUZZ_EXAMPLES", "30"))


class ServerThread:
    def __init__(self, db_url: str, tmp: Path) -> None:
        self.db_url, self.tmp = db_url, tmp
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    async def _start(self) -> None:
        # SMTP "configured" so that password reset answers (without it: a documented 503, which
        # the server-error check cannot tell from a fault; tested in test_password_reset.py).
        # The scheduler is off, so nothing is ever sent to it.
        settings = make_settings(self.db_url, self.tmp, smtp_host="127.0.0.1", smtp_port=9)
        self.runner, live = await start_app(settings)
        self.url = live.url

    def __enter__(self) -> ServerThread:
        self.thread.start()
        assert self.ready.wait(30), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def fuzz_target(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = fresh_db_url("sqlite", request, tmp)
    world = asyncio.run(seed(url, members=3, with_password=False))

    async def admin_cookie() -> str:
        db = Database(url)
        async with db.sessionmaker() as s, s.begin():
            s.add(
                PersonRole(
                    person_id=world.coordinator_id,
                    organisation_id=world.org_id,
                    role=OrgRole.ADMIN,
                )
            )
        await db.dispose()
        return await session_cookie(url, world.coordinator_id)

    cookie = asyncio.run(admin_cookie())
    with ServerThread(url, tmp) as server:
        api_routes = {
            (route.method, route.resource.canonical)
            for route in server.runner.app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith("/api/")
            and route.method != "HEAD"
        }
        yield {
            "url": server.url,
            "cookie": cookie,
            "fresh_cookie": lambda: asyncio.run(session_cookie(url, world.coordinator_id)),
            "routes": api_routes,
        }


@pytest.fixture(scope="module")
def api_schema(fuzz_target):
    return schemathesis.openapi.from_url(fuzz_target["url"] + "/api/openapi.json")


# API routes that are not operations of the document, and why.
UNDOCUMENTED = {
    ("GET", "/api/openapi.json"): "the document itself",
    ("GET", "/api/confirm/{token}"): "a confirmation link of the old form: a redirect to the page",
}
# Operations that end the login they are called with: each case gets a login of its own.
ENDS_SESSION = {"POST /api/auth/logout"}


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


@pytest.mark.slow
def test_api_never_fails_and_matches_its_schema(api_schema, fuzz_target):
    """Every operation, EXAMPLES generated cases each (positive and negative data)."""
    session = requests.Session()
    session.cookies.set("circle_session", fuzz_target["cookie"])
    csrf = bound_csrf(SECRET, fuzz_target["cookie"])  # the CSRF token of this login
    session.cookies.set("circle_csrf", csrf)
    failures: dict[str, str] = {}
    statuses: dict[int, int] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # The document lists every API route the server has (bar itself), and all are fuzzed.
    documented = {(op.method.upper(), op.path) for op in operations}
    expected = fuzz_target["routes"] - set(UNDOCUMENTED)
    assert documented == expected, documented ^ expected

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case) -> None:
            # The generated security values would replace the real login: pin them.
            login = (
                fuzz_target["fresh_cookie"]()
                if operation.label in ENDS_SESSION  # noqa: B023 (run() is called right below)
                else fuzz_target["cookie"]
            )
            token = csrf if login == fuzz_target["cookie"] else bound_csrf(SECRET, login)
            case.cookies = {"circle_session": login, "circle_csrf": token}
            case.headers = {**(case.headers or {}), "X-CSRF-Token": token}
            response = case.call_and_validate(session=session, checks=CHECKS, timeout=30)
            statuses[response.status_code // 100] = statuses.get(response.status_code // 100, 0) + 1

        try:
            run()
        except Exception as exc:  # collect all operations' failures, then report
            failures[operation.label] = str(exc)[:2000]
    # The login held: most generated calls got past authentication.
    assert statuses.get(2, 0) > len(operations), statuses
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
