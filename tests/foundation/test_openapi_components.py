"""The OpenAPI document names each schema once: a second, different schema under a taken
name is refused instead of silently replacing the first (which documented /api/me/sessions
with the coordinator's session schema)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel

from server.api.context import Ctx
from server.api.openapi import ComponentClash, build_openapi
from server.api.routing import Router
from tests.conftest import Live


def _component(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    if schema.get("type") == "array":
        schema = schema["items"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert isinstance(schema, dict)
    return schema


async def test_my_sessions_and_a_coordinators_session_have_their_own_schemas(
    live_sqlite: Live,
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(live_sqlite.url + "/api/openapi.json") as resp,
    ):
        assert resp.status == 200
        doc = await resp.json()
    mine = _component(doc, "/api/me/sessions")["properties"]
    assert {"group_name", "protocol", "ends_at", "lobby_opens_at", "role"} <= set(mine)
    changed = _component(doc, "/api/sessions/{session_id}/cancel", "post")["properties"]
    assert {"local_start", "my_local_start", "sequence", "is_makeup"} <= set(changed)
    # Every reference resolves.
    names = set(doc["components"]["schemas"])
    refs = {r.rsplit("/", 1)[1] for r in _refs(doc["paths"])}
    assert refs <= names


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _thing(field: str) -> type[BaseModel]:
    thing = type("Thing", (BaseModel,), {"__annotations__": {field: int}})
    return thing


def test_two_different_components_with_one_name_are_refused() -> None:
    # Models made at run time: mypy cannot take them as types (hence the valid-type ignores).
    first, second = _thing("a"), _thing("b")
    router = Router("t")

    async def one(ctx: Ctx) -> list[Any]:
        return []

    async def two(ctx: Ctx) -> list[Any]:
        return []

    router.get("/one", response=list[first], summary="one")(one)  # type: ignore[valid-type]
    router.get("/two", response=list[second], summary="two")(two)  # type: ignore[valid-type]
    with pytest.raises(ComponentClash, match="'Thing'"):
        build_openapi(router.routes, version="0", server_url="http://x")
    # The same model on two routes is one component, not a clash.
    again = Router("t")
    again.get("/one", response=list[first], summary="one")(one)  # type: ignore[valid-type]
    again.get("/two", response=list[first], summary="two")(two)  # type: ignore[valid-type]
    doc = build_openapi(again.routes, version="0", server_url="http://x")
    assert set(doc["components"]["schemas"]["Thing"]["properties"]) == {"a"}
