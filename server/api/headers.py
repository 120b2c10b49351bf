"""Security headers on every response: pages, API, static files, redirects, errors.

Set in ``on_response_prepare`` (not a middleware), so responses that never pass through a
handler's return value get them too: redirects raised as ``HTTPFound`` (``/i/...``,
``/app``), aiohttp's own 404/405 pages, static files and the Socket.IO handshake.

The built pages have no inline script or style (Vite emits files under ``/app/assets/``), so
the policy allows only this origin. ``connect-src 'self'`` covers the same-origin websocket.
Media elements get their streams through ``srcObject``, which no fetch directive governs.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import SETTINGS_KEY
from server.settings import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Camera, microphone and screen sharing for this origin only; nothing else a page could ask.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
        "geolocation=()",
        "payment=()",
        "usb=()",
    ]
)
HSTS = "max-age=31536000"


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every response carries (HSTS only when the public URL is https)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        # aiohttp would announce "Python/3.x aiohttp/3.y"; say nothing that dates the stack.
        "Server": "healers-circle",
    }
    if settings.public_url.startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS
    return headers


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.app[HEADERS_KEY].items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = request.app[HEADERS_KEY]["Server"]
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


HEADERS_KEY = web.AppKey("circle.security_headers", dict[str, str])


def setup(app: web.Application) -> None:
    app[HEADERS_KEY] = security_headers(app[SETTINGS_KEY])
    app.on_response_prepare.append(_add_headers)
