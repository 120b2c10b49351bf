"""Addresses of the web client's pages, for links the server writes (mail, calendars).

One definition, so a notice, a calendar event and a redirect cannot disagree. The member app
opens a session's pre-join page (or its waiting room, or the notice that it ended) from
``/app/?session=<id>``; ``/sessions/<id>``, the form mail and calendars used before, redirects
there so links already sent keep working.
"""

from __future__ import annotations


def session_page(public_url: str, session_id: int) -> str:
    return f"{public_url.rstrip('/')}/app/?session={session_id}"
