"""MCP over streamable HTTP on /mcp/: each assistant is a tool whose input schema is its
graph's; a call runs the assistant (on a new temporary thread, or on the thread its
`_meta.thread_id` names) and answers the graph's output. Stateless: no sessions."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)

from access.filters import caller_q
from access.handlers import authorize
from core.db.asyncdb import db
from core.errors import InvalidInput, SpindleError
from core.http import json_body
from core.json import to_jsonable
from core.views import AsyncApi
from protocols.openapi import JSON_RPC_RESPONSE, MCP_EXAMPLE, error_response
from protocols.runs import run_output, run_start

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
PAGE_SIZE = 100
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
INVALID_REQUEST = -32600
# LangChain message schemas an MCP host cannot fill in: a messages list becomes a string.
MESSAGE_DEFS = frozenset(
    {
        "AIMessage",
        "HumanMessage",
        "ChatMessage",
        "SystemMessage",
        "FunctionMessage",
        "ToolMessage",
        "RemoveMessage",
        "AIMessageChunk",
        "HumanMessageChunk",
        "ChatMessageChunk",
        "SystemMessageChunk",
        "FunctionMessageChunk",
        "ToolMessageChunk",
    }
)
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_\-.]")


def tool_name(name: str) -> str:
    """An assistant's name as an MCP tool name (^[a-zA-Z0-9_.-]{1,128}$)."""
    return _INVALID_NAME_CHARS.sub("", re.sub(r"\s+", "_", name.strip()))[:128]


def _simplify(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.get("$defs") or {}
    if not set(defs) & MESSAGE_DEFS:
        return schema
    schema = {**schema, "$defs": {k: v for k, v in defs.items() if k not in MESSAGE_DEFS}}
    kept = {k for k in schema["$defs"]}
    if not kept:
        del schema["$defs"]
    properties = dict(schema.get("properties") or {})
    for key, prop in properties.items():
        items = prop.get("items") or {} if isinstance(prop, dict) else {}
        refs = [c.get("$ref", "") for c in items.get("oneOf") or items.get("anyOf") or []]
        if prop.get("type") == "array" and any(r.rsplit("/", 1)[-1] in MESSAGE_DEFS for r in refs):
            properties[key] = {
                "type": "string",
                "title": prop.get("title", key),
                "description": "The user message to send to the agent.",
            }
    schema["properties"] = properties
    return schema


def _assistants(offset: int, limit: int) -> list[Any]:
    from assistants.selectors import assistant_search

    return assistant_search(limit=limit, offset=offset, sort_by="created_at", sort_order="asc")[0]


def _tools(offset: int) -> dict[str, Any]:
    from assistants.selectors import assistant_schemas

    assistants = _assistants(offset, PAGE_SIZE)
    tools, names = [], set()
    for assistant in assistants:
        name = tool_name(assistant.name or "")
        if not name or name in names:
            continue
        names.add(name)
        try:
            schema = assistant_schemas(assistant).get("input_schema")
        except Exception:
            logger.warning(
                "MCP: no input schema for assistant %s; left out of the tools",
                assistant.assistant_id,
                exc_info=True,
            )
            continue
        schema = _simplify(dict(schema or {}))
        schema.setdefault("type", "object")
        tools.append(
            {
                "name": name,
                "title": assistant.name,
                "description": assistant.description
                or f"Tool based on the {assistant.name} assistant",
                "inputSchema": schema,
                "annotations": {
                    "readOnlyHint": False,
                    "destructiveHint": False,
                    "idempotentHint": False,
                    "openWorldHint": True,
                },
            }
        )
    result: dict[str, Any] = {"tools": tools}
    if len(assistants) == PAGE_SIZE:
        result["nextCursor"] = str(offset + PAGE_SIZE)
    return result


def _assistant_named(name: str) -> Any | None:
    from assistants.models import Assistant

    visible = Assistant.objects.filter(caller_q("assistants")).order_by("created_at")
    matches = [a for a in visible if tool_name(a.name or "") == name]
    return matches[0] if matches else None


async def _authorize_search(offset: int, limit: int) -> None:
    """The tools are the assistants the caller finds with POST /assistants/search: the auth
    handlers are asked as that endpoint asks them, and their filter narrows the tools."""
    value: dict[str, Any] = {"graph_id": None, "metadata": {}, "limit": limit, "offset": offset}
    try:
        await authorize("assistants", "search", value)
    except SpindleError as exc:
        raise RpcError(INVALID_PARAMS, str(exc.detail)) from exc


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def _call(params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("name")
    await _authorize_search(0, PAGE_SIZE)
    assistant = await db(_assistant_named, name) if isinstance(name, str) and name else None
    if assistant is None:
        raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
    arguments = params.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, "arguments must be an object.")
    meta = params.get("_meta") or {}
    thread_id = meta.get("thread_id") if isinstance(meta, dict) else None
    if thread_id is not None:
        try:
            thread_id = uuid.UUID(str(thread_id))
        except ValueError as exc:
            raise RpcError(INVALID_PARAMS, f"Invalid _meta.thread_id: {thread_id!r}") from exc
    payload: dict[str, Any] = {"input": arguments}
    if isinstance(params.get("context"), dict):
        payload["context"] = params["context"]
    try:
        run = await run_start(thread_id, str(assistant.assistant_id), payload)
    except SpindleError as exc:
        if exc.status_code >= 500:
            raise
        raise RpcError(INVALID_PARAMS, str(exc.detail)) from exc
    output = await run_output(run)
    if isinstance(output, dict) and "__error__" in output:
        error = output["__error__"]
        text = (
            f"{error.get('error')}: {error.get('message')}"
            if isinstance(error, dict)
            else str(error)
        )
        return {"isError": True, "content": [{"type": "text", "text": text}]}
    output = to_jsonable(output)
    result: dict[str, Any] = {"content": [{"type": "text", "text": json.dumps(output)}]}
    if isinstance(output, dict):
        result["structuredContent"] = output
    return result


async def _answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
    if method == "initialize":
        requested = params.get("protocolVersion")
        return {
            "protocolVersion": requested if requested in SUPPORTED_VERSIONS else LATEST_VERSION,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "Spindle", "version": "0.1.0"},
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        try:
            offset = max(0, int(params.get("cursor") or 0))
        except (TypeError, ValueError):
            offset = 0
        await _authorize_search(offset, PAGE_SIZE)
        return await db(_tools, offset)
    if method == "tools/call":
        return await _call(params)
    raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")


def _bad_request(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=400)


# /mcp/ (and /mcp): stateless streamable HTTP, so GET (a server stream) and DELETE (a session)
# answer as a server without either does.
class McpApi(AsyncApi):
    @extend_schema(
        operation_id="post_mcp",
        summary="MCP Post",
        tags=["MCP"],
        parameters=[
            OpenApiParameter(
                "Accept",
                {"type": "string", "enum": ["application/json, text/event-stream"]},
                OpenApiParameter.HEADER,
                required=True,
                description="Must include application/json or text/event-stream.",
            )
        ],
        request={
            "application/json": {
                "type": "object",
                "description": "A JSON-RPC 2.0 request, notification, or response object.",
            }
        },
        examples=[OpenApiExample("initialize", MCP_EXAMPLE, request_only=True)],
        responses={
            200: OpenApiResponse(JSON_RPC_RESPONSE, description="Successful JSON-RPC response."),
            202: OpenApiResponse(description="Notification or response accepted; no content body."),
            400: error_response(
                "Not a JSON-RPC message, or an Accept header without either media type."
            ),
            415: error_response("The body is not declared JSON (Content-Type)."),
            422: error_response(
                "The body is not JSON, or JSON no column can hold (the input gate)."
            ),
        },
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        try:
            message = json_body(request)
        except InvalidInput:
            # No body (the input gate refused malformed JSON with its 422).
            return _bad_request("Invalid JSON in request body")
        accept = request.headers.get("Accept", "")
        if "application/json" not in accept and "text/event-stream" not in accept:
            return _bad_request(
                "The Accept header must include application/json or text/event-stream"
            )
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _bad_request("Invalid JSON-RPC message: it must be an object with jsonrpc 2.0")
        message_id, method = message.get("id"), message.get("method")
        if message_id is None:
            # A notification (or a response to nothing we asked): accepted, nothing to answer.
            return (
                HttpResponse(status=202)
                if method or "result" in message or "error" in message
                else _bad_request("Invalid JSON-RPC message")
            )
        if not isinstance(method, str):
            return HttpResponse(status=202)  # a client's response to a server request
        params = message.get("params") or {}
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message_id}
        if not isinstance(params, dict):
            reply["error"] = {"code": INVALID_PARAMS, "message": "params must be an object"}
            return JsonResponse(reply)
        try:
            reply["result"] = await _answer(method, params)
        except RpcError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        return JsonResponse(reply)

    @extend_schema(
        operation_id="get_mcp",
        summary="MCP Get",
        tags=["MCP"],
        responses={405: error_response("GET method not allowed; streaming not supported.")},
    )
    async def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse(
            {"detail": "This server does not stream: GET is not allowed"}, status=405
        )

    @extend_schema(
        operation_id="delete_mcp",
        summary="Terminate Session",
        tags=["MCP"],
        responses={404: error_response("Session not found: the server keeps no sessions.")},
    )
    async def delete(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse(
            {"detail": "Session not found: this server keeps no sessions"}, status=404
        )
