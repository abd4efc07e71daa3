"""Agent2Agent (A2A, JSON-RPC 2.0) on POST /a2a/{assistant_id} and the agent card. A context
is a thread and a task is one run on it (task id "<thread_id>:<run_id>"), so tasks show in
the API and the admin, and cancel and rollback apply to them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)

from access.filters import caller_q
from access.handlers import authorize
from core.db.asyncdb import db
from core.errors import InvalidInput, NotFound, SpindleError
from core.http import json_body
from core.json import to_jsonable
from core.openapi import path_id
from core.views import AsyncApi
from protocols.openapi import (
    A2A_EXAMPLES,
    A2A_REQUEST,
    JSON_RPC_RESPONSE,
    error_response,
    sse_frames,
)
from protocols.runs import run_outcome, run_start
from runs import sse
from runs.authorize import run_authorize
from runs.models import ACTIVE_STATUSES
from threads.selectors import visible_threads

logger = logging.getLogger(__name__)

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
TASK_NOT_FOUND = -32001
NOT_CANCELABLE = -32002
MODES = ["application/json", "text/plain"]
STATES = {
    "pending": "submitted",
    "running": "working",
    "success": "completed",
    "interrupted": "canceled",  # a run cancelled from outside; an interrupt() ends in success
    "error": "failed",
    "timeout": "failed",
}


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block if isinstance(block, str) else str(block.get("text", ""))
            for block in content
            if isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
        )
    return ""


def _message(
    role: str,
    parts: list[dict[str, Any]],
    task_id: str,
    context_id: str,
    message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": "message",
        "role": role,
        "parts": parts,
        "messageId": message_id or str(uuid.uuid4()),
        "taskId": task_id,
        "contextId": context_id,
    }


def _history(
    values: Any, task_id: str, context_id: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """The context's conversation as A2A messages (human: user, ai: agent, text only)."""
    messages = values.get("messages") if isinstance(values, dict) else None
    history = []
    for item in messages if isinstance(messages, list) else []:
        if not isinstance(item, dict) or item.get("type") not in ("human", "ai"):
            continue
        text = _text(item.get("content"))
        if not text:
            continue
        role = "user" if item["type"] == "human" else "agent"
        history.append(
            _message(role, [{"kind": "text", "text": text}], task_id, context_id, item.get("id"))
        )
    return history[-limit:] if limit else history


def _answer_parts(values: Any) -> list[dict[str, Any]]:
    messages = values.get("messages") if isinstance(values, dict) else None
    if isinstance(messages, list):
        for item in reversed(messages):
            if isinstance(item, dict) and item.get("type") == "ai":
                return [{"kind": "text", "text": _text(item.get("content"))}]
    return (
        [{"kind": "data", "data": to_jsonable(values)}]
        if values
        else [{"kind": "text", "text": ""}]
    )


def _artifact(values: Any, assistant_id: str) -> dict[str, Any]:
    return {
        "artifactId": str(uuid.uuid4()),
        "name": "Assistant Response",
        "description": f"Response from assistant {assistant_id}",
        "parts": _answer_parts(values),
    }


def _interrupts(values: Any) -> list[Any]:
    return values.get("__interrupt__") or [] if isinstance(values, dict) else []


# --- reading the request --------------------------------------------------------------


def _assistant(assistant_id: str) -> Any:
    from assistants.selectors import assistant_resolve

    try:
        return assistant_resolve(assistant_id)
    except NotFound as exc:
        raise RpcError(INVALID_PARAMS, f"Assistant '{assistant_id}' not found") from exc


def _parse_message(params: dict[str, Any]) -> tuple[dict[str, Any], uuid.UUID, dict[str, Any]]:
    """(the message, its context's thread id, the graph input) of message/send and /stream."""
    message = params.get("message")
    if not isinstance(message, dict):
        raise RpcError(INVALID_PARAMS, "params.message is required")
    parts = message.get("parts")
    if message.get("role") not in ("user", "agent") or not isinstance(parts, list) or not parts:
        raise RpcError(
            INVALID_PARAMS, "message needs a role (user or agent) and a non-empty parts list"
        )
    if not isinstance(message.get("messageId"), str):
        raise RpcError(INVALID_PARAMS, "message.messageId is required")
    texts, data = [], {}
    for part in parts:
        kind = part.get("kind") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "data" and isinstance(part.get("data"), dict):
            data.update(part["data"])
        else:
            raise RpcError(INVALID_PARAMS, "Only text and data parts are supported")
    graph_input: dict[str, Any] = dict(data)
    if texts:
        graph_input["messages"] = [{"role": "human", "content": "\n".join(texts)}]
    context_id = message.get("contextId")
    try:
        thread_id = uuid.UUID(context_id) if context_id is not None else uuid.uuid4()
    except (ValueError, TypeError, AttributeError) as exc:
        raise RpcError(INVALID_PARAMS, f"Invalid contextId: {context_id!r}") from exc
    resume: dict[str, Any] | str = "\n".join(texts) if texts and not data else graph_input
    return message, thread_id, {"input": graph_input, "resume": resume}


def _pending_interrupts(thread_id: uuid.UUID) -> bool:
    visible = visible_threads().filter(pk=thread_id)
    return bool(visible.values_list("interrupts", flat=True).first())


async def _start(
    assistant: Any, params: dict[str, Any], *, stream: bool
) -> tuple[Any, dict[str, Any], str]:
    """The run a message starts on its context: checked as reading the context's thread
    and then as POST /threads/{id}/runs (a context outside the caller's filter is an
    unknown one)."""
    message, thread_id, parsed = _parse_message(params)
    payload: dict[str, Any] = {"metadata": {"a2a_message_id": message["messageId"]}}
    try:
        await authorize("threads", "read", {"thread_id": thread_id})
        if await db(_pending_interrupts, thread_id):
            # The context waits on an interrupt: the message answers it.
            payload["command"] = {"resume": parsed["resume"]}
        else:
            payload["input"] = parsed["input"]
        if stream:
            payload["stream_mode"] = ["messages-tuple"]
        run = await run_start(thread_id, str(assistant.assistant_id), payload)
    except SpindleError as exc:
        if exc.status_code >= 500:
            raise
        raise RpcError(INVALID_PARAMS, str(exc.detail)) from exc
    return run, message, f"{run.thread_id}:{run.run_id}"


def _task(
    task_id: str,
    context_id: str,
    status: str | None,
    values: Any,
    assistant_id: str,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    task: dict[str, Any] = {
        "kind": "task",
        "id": task_id,
        "contextId": context_id,
        "history": history,
    }
    if status == "interrupted":
        text = "Task was canceled"
        task["status"] = {
            "state": "canceled",
            "timestamp": _now(),
            "message": _message("agent", [{"kind": "text", "text": text}], task_id, context_id),
        }
    elif isinstance(values, dict) and "__error__" in values:
        error = values["__error__"]
        text = (
            f"Error executing assistant: {error.get('error') if isinstance(error, dict) else error}"
        )
        task["status"] = {
            "state": "failed",
            "message": _message("agent", [{"kind": "text", "text": text}], task_id, context_id),
        }
    elif _interrupts(values):
        task["status"] = {"state": "input-required", "timestamp": _now()}
        task["artifacts"] = [
            {
                "artifactId": str(uuid.uuid4()),
                "name": "Interrupt",
                "description": "The agent waits for input",
                "parts": [{"kind": "data", "data": to_jsonable(i)} for i in _interrupts(values)],
            }
        ]
    else:
        task["status"] = {"state": "completed", "timestamp": _now()}
        task["artifacts"] = [_artifact(values, assistant_id)]
    return task


async def _readable_assistant(assistant_id: str) -> Any:
    """The assistant, read as GET /assistants/{id} reads it (the auth handlers asked)."""
    try:
        await authorize("assistants", "read", {"assistant_id": assistant_id})
    except SpindleError as exc:
        raise RpcError(INVALID_PARAMS, str(exc.detail)) from exc
    return await db(_assistant, assistant_id)


# --- methods --------------------------------------------------------------------------


async def message_send(assistant: Any, params: dict[str, Any]) -> dict[str, Any]:
    run, _message_in, task_id = await _start(assistant, params, stream=False)
    status, values = await run_outcome(run)
    context_id = str(run.thread_id)
    return _task(
        task_id,
        context_id,
        status,
        values,
        str(assistant.assistant_id),
        _history(values, task_id, context_id),
    )


def _chunk_text(data: Any) -> tuple[str | None, str, str]:
    """(message id, type, text) of a messages-tuple event's chunk."""
    chunk = data[0] if isinstance(data, list) and data else {}
    if not isinstance(chunk, dict):
        return None, "", ""
    return chunk.get("id"), str(chunk.get("type", "")), _text(chunk.get("content"))


async def message_stream(
    assistant: Any, params: dict[str, Any], rpc_id: Any
) -> AsyncIterator[bytes]:
    """The task (submitted), a working status-update per token of the agent's messages
    (text so far), the answer as an artifact-update, and the final status-update."""
    run, message_in, task_id = await _start(assistant, params, stream=True)
    context_id = str(run.thread_id)

    def frame(result: dict[str, Any]) -> bytes:
        return sse.frame("message", {"jsonrpc": "2.0", "id": rpc_id, "result": result})

    async def frames() -> AsyncIterator[bytes]:
        user = {**message_in, "kind": "message", "taskId": task_id, "contextId": context_id}
        yield frame(
            {
                "kind": "task",
                "id": task_id,
                "contextId": context_id,
                "history": [user],
                "status": {"state": "submitted", "timestamp": _now()},
            }
        )
        texts: dict[str, str] = {}
        async for entry in sse.run_entries(str(run.run_id), after=sse.REPLAY_ALL):
            if entry is None or entry.is_end:
                continue
            if entry.event.split("|", 1)[0] != "messages":
                continue
            message_id, kind, text = _chunk_text(json.loads(entry.data))
            if not text or not kind.startswith("AIMessage") and kind != "ai":
                continue
            key = message_id or "-"
            texts[key] = texts.get(key, "") + text
            working = {
                "state": "working",
                "timestamp": _now(),
                "message": _message(
                    "agent", [{"kind": "text", "text": texts[key]}], task_id, context_id
                ),
            }
            yield frame(
                {
                    "taskId": task_id,
                    "contextId": context_id,
                    "kind": "status-update",
                    "status": working,
                    "final": False,
                }
            )
        status, values = await run_outcome(run)
        task = _task(task_id, context_id, status, values, str(assistant.assistant_id), [])
        for artifact in task.get("artifacts", []):
            yield frame(
                {
                    "taskId": task_id,
                    "contextId": context_id,
                    "kind": "artifact-update",
                    "artifact": artifact,
                    "append": False,
                    "lastChunk": True,
                }
            )
        yield frame(
            {
                "taskId": task_id,
                "contextId": context_id,
                "kind": "status-update",
                "status": task["status"],
                "final": True,
            }
        )

    return frames()


def _parse_task(params: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID, str]:
    task_id = params.get("id")
    if not isinstance(task_id, str):
        raise RpcError(INVALID_PARAMS, "params.id (the task id) is required")
    context_id, _, run_id = task_id.rpartition(":")
    context_id = context_id or str(params.get("contextId") or "")
    try:
        return uuid.UUID(context_id), uuid.UUID(run_id), task_id
    except ValueError as exc:
        raise RpcError(
            TASK_NOT_FOUND, f"Task not found: {task_id} in context '{context_id}'"
        ) from exc


def _task_row(thread_id: uuid.UUID, run_id: uuid.UUID, assistant: Any) -> Mapping[str, Any] | None:
    from runs.models import Run

    row = (
        Run.objects.filter(
            caller_q("threads", "thread__metadata"),
            pk=run_id,
            thread_id=thread_id,
            assistant_id=assistant.assistant_id,
        )
        .values("status", "updated_at", "thread__status", "thread__values")
        .first()
    )
    return row


async def _authorize_task(thread_id: uuid.UUID, run_id: uuid.UUID, action: str) -> None:
    """A task is a run: read and cancel it as GET and POST .../runs/{id}/cancel do."""
    try:
        await run_authorize(thread_id, run_id, action)
    except SpindleError as exc:
        raise RpcError(INVALID_PARAMS, str(exc.detail)) from exc


async def tasks_get(assistant: Any, params: dict[str, Any]) -> dict[str, Any]:
    thread_id, run_id, task_id = _parse_task(params)
    limit = params.get("historyLength")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 10
    ):
        raise RpcError(INVALID_PARAMS, "historyLength must be an integer from 0 to 10")
    await _authorize_task(thread_id, run_id, "read")
    row = await db(_task_row, thread_id, run_id, assistant)
    if row is None:
        raise RpcError(TASK_NOT_FOUND, f"Task not found: {task_id} in context '{thread_id}'")
    state = STATES.get(row["status"], "submitted")
    if state == "completed" and row["thread__status"] == "interrupted":
        state = "input-required"
    context_id = str(thread_id)
    text = (
        "Task completed successfully"
        if state == "completed"
        else f"Task {state}"
        if state != "failed"
        else f"Task failed with status: {row['status']}"
    )
    task: dict[str, Any] = {
        "kind": "task",
        "id": task_id,
        "contextId": context_id,
        "status": {
            "state": state,
            "timestamp": row["updated_at"].isoformat(),
            "message": _message("agent", [{"kind": "text", "text": text}], task_id, context_id),
        },
    }
    if limit != 0:
        task["history"] = _history(row["thread__values"], task_id, context_id, limit)
    return task


def _cancel(thread_id: uuid.UUID, run_id: uuid.UUID) -> None:
    from runs.services import run_cancel

    run_cancel(thread_id=thread_id, run_id=run_id)


async def tasks_cancel(assistant: Any, params: dict[str, Any]) -> dict[str, Any]:
    thread_id, run_id, task_id = _parse_task(params)
    await _authorize_task(thread_id, run_id, "update")
    row = await db(_task_row, thread_id, run_id, assistant)
    if row is None:
        raise RpcError(TASK_NOT_FOUND, f"Task not found: {task_id} in context '{thread_id}'")
    if row["status"] not in ACTIVE_STATUSES:
        raise RpcError(NOT_CANCELABLE, "Task is not cancelable in its current state")
    await db(_cancel, thread_id, run_id)
    context_id = str(thread_id)
    return {
        "kind": "task",
        "id": task_id,
        "contextId": context_id,
        "status": {
            "state": "canceled",
            "timestamp": _now(),
            "message": _message(
                "agent", [{"kind": "text", "text": "Task was canceled"}], task_id, context_id
            ),
        },
    }


# --- views ----------------------------------------------------------------------------


def _rpc_error(rpc_id: Any, code: int, message: str) -> JsonResponse:
    return JsonResponse(
        {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
    )


# POST /a2a/{assistant_id}: message/send, message/stream, tasks/get, tasks/cancel.
class A2AApi(AsyncApi):
    @extend_schema(
        operation_id="post_a2a",
        summary="A2A JSON-RPC",
        tags=["A2A"],
        parameters=[
            path_id("assistant_id", "The ID of the assistant to communicate with"),
            OpenApiParameter(
                "Accept",
                str,
                OpenApiParameter.HEADER,
                description="For `message/stream`, must include `text/event-stream`.",
            ),
        ],
        request={"application/json": A2A_REQUEST},
        examples=[
            OpenApiExample(name, example["value"], summary=example["summary"], request_only=True)
            for name, example in A2A_EXAMPLES.items()
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                JSON_RPC_RESPONSE,
                description="The JSON-RPC response, a result or an error (an unknown assistant"
                " too). For `message/stream`, an SSE stream of JSON-RPC responses.",
            ),
            # The JSON answer's description (one per status) says when this one comes.
            (200, "text/event-stream"): sse_frames(JSON_RPC_RESPONSE),
            422: error_response(
                "The body is not JSON (the input gate), or the assistant id is neither a UUID nor"
                " a graph id."
            ),
        },
    )
    async def post(self, request: HttpRequest, assistant_id: str) -> HttpResponseBase:
        try:
            body = json_body(request)
        except InvalidInput:
            # No body (the input gate refused malformed JSON with its 422).
            return _rpc_error(None, -32700, "Parse error: invalid JSON")
        if (
            not isinstance(body, dict)
            or body.get("jsonrpc") != "2.0"
            or not isinstance(body.get("method"), str)
        ):
            return _rpc_error(
                body.get("id") if isinstance(body, dict) else None,
                INVALID_REQUEST,
                "Invalid JSON-RPC request",
            )
        rpc_id, method = body.get("id"), body["method"]
        params = body.get("params") or {}
        if not isinstance(params, dict):
            return _rpc_error(rpc_id, INVALID_PARAMS, "params must be an object")
        try:
            assistant = await _readable_assistant(assistant_id)
            if method == "message/stream":
                if "text/event-stream" not in request.headers.get("Accept", ""):
                    raise RpcError(
                        INVALID_REQUEST, "message/stream needs Accept: text/event-stream"
                    )
                frames = await message_stream(assistant, params, rpc_id)
                return StreamingHttpResponse(
                    frames, content_type="text/event-stream", headers={"Cache-Control": "no-store"}
                )
            handlers = {
                "message/send": message_send,
                "tasks/get": tasks_get,
                "tasks/cancel": tasks_cancel,
            }
            if method not in handlers:
                raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
            result = await handlers[method](assistant, params)
        except RpcError as exc:
            return _rpc_error(rpc_id, exc.code, exc.message)
        return JsonResponse({"jsonrpc": "2.0", "id": rpc_id, "result": result})


def _card(request: HttpRequest, assistant: Any) -> dict[str, Any]:
    from assistants.selectors import assistant_schemas

    url = request.build_absolute_uri(f"/a2a/{assistant.assistant_id}")
    try:
        properties = sorted(
            (assistant_schemas(assistant).get("input_schema") or {}).get("properties") or {}
        )
    except Exception:
        properties = []
    description = assistant.description or f"{assistant.name} assistant"
    return {
        "name": assistant.name,
        "description": description,
        "url": url,
        "protocolVersion": "0.3.0",
        "preferredTransport": "JSONRPC",
        "capabilities": {
            "streaming": True,
            "pushNotifications": False,
            "stateTransitionHistory": False,
        },
        "defaultInputModes": MODES,
        "defaultOutputModes": MODES,
        "skills": [
            {
                "id": f"{assistant.assistant_id}-main",
                "name": f"{assistant.name} Capabilities",
                "description": description,
                "tags": ["assistant", "langgraph"],
                "examples": [],
                "inputModes": MODES,
                "outputModes": MODES,
                "metadata": {
                    "inputSchema": {
                        "properties": properties,
                        "supportsA2A": "messages" in properties,
                    }
                },
            }
        ],
        "version": "0.1.0",
    }


# The agent card: /a2a/{id}/.well-known/agent-card.json (and agent.json), or
# /.well-known/agent-card.json?assistant_id=. Not in the API document (the official one
# lists it nowhere either).
class AgentCardApi(AsyncApi):
    @extend_schema(exclude=True)
    async def get(self, request: HttpRequest, assistant_id: str | None = None) -> HttpResponse:
        assistant_id = assistant_id or request.GET.get("assistant_id")
        if not assistant_id:
            return JsonResponse({"detail": "assistant_id is required"}, status=400)
        await authorize("assistants", "read", {"assistant_id": assistant_id})
        try:
            assistant = await db(_assistant, assistant_id)
        except RpcError as exc:
            return JsonResponse({"detail": exc.message}, status=404)
        return JsonResponse(await db(_card, request, assistant))
