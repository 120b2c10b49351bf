"""Links the server writes into mail and calendars open a real page."""

from __future__ import annotations

import aiohttp

from tests.conftest import Live


async def test_old_session_links_redirect_to_the_member_apps_session_page(
    live_sqlite: Live,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(live_sqlite.url + "/sessions/42", allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/app/?session=42"
        async with http.get(live_sqlite.url + "/sessions/x1", allow_redirects=False) as resp:
            assert resp.status == 404
