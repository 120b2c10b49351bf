"""The OpenAPI 3.1 document, generated from the same route table that serves the API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.api.routing import Route, body_required

REF = "#/components/schemas/{model}"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
ERROR_TEXT = {
    400: "Invalid input",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    410: "Expired or already used",
    413: "Body too large",
    415: "Unsupported media type",
    429: "Too many attempts",
    503: "Not available on this server",
}


class ComponentClash(ValueError):
    """Two different schemas under one component name (two models with the same class name)."""


def _register(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Add one named schema; the same name again must mean the same schema."""
    known = components.get(name)
    if known is not None and known != schema:
        raise ComponentClash(
            f"two different schemas are both named {name!r} in the OpenAPI components; "
            "rename one of the models"
        )
    components[name] = schema


def _collect(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    for name, definition in schema.pop("$defs", {}).items():
        _register(components, name, definition)
    return schema


def _model_schema(model: type[BaseModel], components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    schema = _collect(schema, components)
    _register(components, model.__name__, schema)
    return {"$ref": REF.format(model=model.__name__)}


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": {},
    }
    if route.description:
        op["description"] = route.description
    params: list[dict[str, Any]] = []
    for name in route.params:
        schema: dict[str, Any]
        if name.endswith("_id"):
            schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^/]+$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if route.query is not None:
        qschema = route.query.model_json_schema(ref_template=REF)
        _collect(qschema, components)
        required = set(qschema.get("required", []))
        for name, prop in qschema.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": body_required(route.body),
            "content": {
                "application/json": {"schema": _model_schema(route.body, components, "validation")}
            },
        }
    if route.response is None:
        op["responses"][str(route.status)] = {"description": "Done"}
    elif route.content_type != "application/json":
        op["responses"][str(route.status)] = {
            "description": "OK",
            "content": {route.content_type.split(";")[0]: {"schema": {"type": "string"}}},
        }
    else:
        assert route.adapter is not None
        rschema = route.adapter.json_schema(ref_template=REF, mode="serialization")
        rschema = _collect(rschema, components)
        op["responses"][str(route.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": rschema}},
        }
    codes = set(route.errors) | {400}
    if route.auth == "person":
        codes |= {401, 403}
    if route.body is not None:
        codes |= {413, 415}
    if route.params:
        codes.add(404)
    for code in sorted(codes):
        op["responses"][str(code)] = {
            "description": ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
    if route.auth == "person":
        op["security"] = [{"cookieAuth": [], "csrfToken": []}]
    return op


def build_openapi(routes: list[Route], *, version: str, server_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Healers' Circle API",
            "version": version,
            "description": "Scheduling, accounts and groups for facilitated peer-support "
            "groups. Cookie sessions; state-changing calls need the X-CSRF-Token header "
            "echoing the circle_csrf cookie. Errors are {error: {code, message}}.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "circle_session"},
                "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }
