"""The JSON API: every module's Router, mounted on the app with the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from server.api import auth, groups, me, people, sessions
from server.api.http import make_handler
from server.api.openapi import build_openapi
from server.api.routing import Route, Router

CORE_ROUTERS: tuple[Router, ...] = (
    auth.router,
    me.router,
    people.router,
    groups.router,
    sessions.router,
)
OPENAPI_KEY = web.AppKey("openapi", dict)
ROUTES_KEY = web.AppKey("api_routes", list)


def mount(app: web.Application, routers: list[Router], *, version: str, server_url: str) -> None:
    routes: list[Route] = [r for router in routers for r in router.routes]
    for route in routes:
        app.router.add_route(route.method, route.aiohttp_path, make_handler(route))
    app[ROUTES_KEY] = routes
    app[OPENAPI_KEY] = build_openapi(routes, version=version, server_url=server_url)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(request.app[OPENAPI_KEY])

    app.router.add_get("/api/openapi.json", openapi)
    # Old-form one-click links: redirects that spend nothing (not part of the API document).
    app.router.add_get("/i/{token:[^/]{1,1024}}", auth.invitation_redirect)
    app.router.add_get("/api/confirm/{token:[^/]{1,1024}}", auth.confirm_redirect)
