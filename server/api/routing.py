"""A small declarative route table for the JSON API, rendered into the OpenAPI document.

Usage (one ``Router`` per API module)::

    router = Router("groups")

    @router.get("/api/groups/{group_id}", response=GroupOut, summary="A group")
    async def get_group(ctx: Ctx) -> GroupOut:
        group_id = ctx.path_int("group_id")
        ...

    @router.post("/api/organisations/{org_id}/groups", body=GroupIn, response=GroupOut,
                 status=201, summary="Create a group")
    async def create_group(ctx: Ctx, body: GroupIn) -> GroupOut: ...

Path parameters named ``*_id`` are positive integers (others are strings of at most 200
characters). ``body`` and ``query`` are pydantic models (``extra="forbid"``); a request that
fails them gets 400 ``invalid`` and changes nothing. ``response`` is a pydantic model or
``list[Model]``; ``None`` means 204. ``auth="person"`` (the default) requires a logged-in
person; ``auth="none"`` allows anyone. Handlers raise errors from ``server.errors``.
Core routers are listed in ``server/api/__init__.py``; a plug-in appends its Router to
``app[API_ROUTERS_KEY]`` in its ``setup(app)`` (before the app starts).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from server.api.context import Ctx

AuthMode = Literal["none", "person"]
Handler = Callable[..., Awaitable[Any]]
PATH_PARAM = re.compile(r"{([a-z_]+)}")


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: AuthMode = "person"
    errors: tuple[int, ...] = ()
    description: str = ""
    content_type: str = "application/json"
    adapter: TypeAdapter[Any] | None = field(default=None, repr=False)

    @property
    def params(self) -> list[str]:
        return PATH_PARAM.findall(self.path)

    @property
    def aiohttp_path(self) -> str:
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            pattern = "[0-9]{1,18}" if name.endswith("_id") else "[^/]{1,200}"
            return "{" + name + ":" + pattern + "}"

        return PATH_PARAM.sub(repl, self.path)


def body_required(model: type[BaseModel]) -> bool:
    """A body whose fields are all optional may be left out; the API treats it as ``{}``."""
    return any(f.is_required() for f in model.model_fields.values())


class Router:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: AuthMode = "person",
        errors: tuple[int, ...] = (),
        description: str = "",
        content_type: str = "application/json",
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            real_status = 204 if response is None and status == 200 else status
            adapter = (
                TypeAdapter(response)
                if response is not None and content_type == "application/json"
                else None
            )
            self.routes.append(
                Route(
                    method=method,
                    path=path,
                    handler=fn,
                    summary=summary,
                    tag=self.tag,
                    body=body,
                    query=query,
                    response=response,
                    status=real_status,
                    auth=auth,
                    errors=errors,
                    description=description or (fn.__doc__ or "").strip(),
                    content_type=content_type,
                    adapter=adapter,
                )
            )
            return fn

        return deco

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


__all__ = ["Ctx", "Route", "Router"]
