"""Addresses of the web client's pages, for links the server writes (mail, calendars).

One definition, so a notice, a calendar event and a redirect cannot disagree. The member app
opens a session's pre-join page (or its waiting room, or the notice that it ended) from
``/app/?session=<id>``; ``/sessions/<id>``, the form mail and calendars used before, redirects
there so links already sent keep working.
"""

from __future__ import annotations


def session_page(public_url: str, session_id: int) -> str:
    return f"{public_url.rstrip('/')}/app/?session={session_id}"


# One-click links carry their token in the fragment: browsers never send it to a server (so
# it stays out of access and proxy logs), and the page spends it with a POST only after the
# person clicks (so a mail scanner that fetches the link spends nothing).


def sign_in_page(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/app/#signin={token}"


def confirm_page(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/app/#confirm={token}"


def pathways_page(public_url: str, fragment: str = "") -> str:
    """The pathways page (peer-support offer, message to the leaders, meeting report)."""
    tail = f"#{fragment}" if fragment else ""
    return f"{public_url.rstrip('/')}/app/pathways.html{tail}"
