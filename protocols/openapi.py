"""The agent protocols' part of the API document: the official Protocol* components, the A2A
and MCP bodies and answers, and the hook that puts the components into /openapi.json.

The schemas are the official document's (langgraph-api 0.16.7), changed only where Spindle
answers otherwise; docs/behaviour.md ("The API document") lists those changes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

from core.openapi import ErrorResponseSerializer, raw_component
from protocols.events import MAX_SEQ, PROTOCOL_CHANNELS

SCHEMAS: dict[str, dict[str, Any]] = {
    "ProtocolChannel": {
        "type": "string",
        "title": "Protocol Channel",
        "description": "Subscribable event channel. One of the eight fixed channels or a user-defined `custom:<name>` namespaced custom channel emitted by a stream transformer. `debug` and `checkpoints` were removed from the protocol in `@langchain/protocol@0.0.10` — task-level debug info now flows on the `tasks` channel, and checkpoint pointers ride on `values` events as an attached `checkpoint` envelope.",
        "anyOf": [
            {
                "type": "string",
                "enum": list(PROTOCOL_CHANNELS),
            },
            {
                "type": "string",
                "pattern": "^custom:.+$",
                "description": "User-defined namespaced custom channel.",
            },
        ],
    },
    "ProtocolNamespace": {
        "type": "array",
        "items": {"type": "string"},
        "title": "Protocol Namespace",
        "description": "Hierarchical path identifying a position in the agent tree. Empty array denotes the root agent; each segment names a nested subgraph.",
    },
    "ProtocolEventStreamRequest": {
        "type": "object",
        "title": "ProtocolEventStreamRequest",
        "description": "Body of `POST /threads/{thread_id}/stream/events`. Filters the connection-scoped SSE stream.",
        "required": ["channels"],
        "properties": {
            "channels": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProtocolChannel"},
                "minItems": 1,
                "description": "Channels to subscribe to for the lifetime of this connection.",
            },
            "namespaces": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProtocolNamespace"},
                "description": "Prefix-match filter. An event matches if its namespace starts with any of these prefixes. Omit for all namespaces.",
            },
            "depth": {
                "type": "integer",
                "minimum": 0,
                "description": "Max depth below the namespace prefix. Omit for unbounded depth.",
            },
            "since": {
                "type": "integer",
                "minimum": 0,
                # Spindle's seq stays below 2**53 (protocols/events.py); beyond is a 400.
                "maximum": MAX_SEQ,
                "description": "Replay events with `seq` greater than this value before streaming live events.",
            },
        },
        "additionalProperties": True,
    },
    "ProtocolCommand": {
        "type": "object",
        "title": "ProtocolCommand",
        "description": "A client → server command envelope. Known methods: `run.start`, `input.respond`, `subscription.subscribe` (WS only), `subscription.unsubscribe` (WS only), `agent.getTree`.",
        "required": ["id", "method"],
        "properties": {
            "id": {
                "type": "integer",
                "minimum": 0,
                "description": "Client-assigned command id; echoed in the response.",
            },
            "method": {"type": "string", "description": "Command method name (e.g. `run.start`)."},
            "params": {
                "type": "object",
                "description": "Method-specific parameters. See the CDDL spec for per-method shapes.",
                "additionalProperties": True,
            },
        },
        "additionalProperties": True,
    },
    "ProtocolResponseMeta": {
        "type": "object",
        "title": "ProtocolResponseMeta",
        "description": "Optional metadata attached to command responses.",
        "properties": {
            "applied_through_seq": {
                "type": "integer",
                "minimum": 0,
                "description": "Highest event `seq` observed on the session when this response was generated.",
            }
        },
        "additionalProperties": True,
    },
    "ProtocolSuccess": {
        "type": "object",
        "title": "ProtocolSuccess",
        "description": "Successful command response.",
        "required": ["type", "id", "result"],
        "properties": {
            "type": {"type": "string", "const": "success"},
            "id": {"type": "integer", "minimum": 0},
            "result": {
                "type": "object",
                "description": "Method-specific result payload.",
                "additionalProperties": True,
            },
            "meta": {"$ref": "#/components/schemas/ProtocolResponseMeta"},
        },
        "additionalProperties": True,
    },
    "ProtocolError": {
        "type": "object",
        "title": "ProtocolError",
        "description": "Error response for a command.",
        "required": ["type", "id", "error", "message"],
        "properties": {
            "type": {"type": "string", "const": "error"},
            "id": {
                "oneOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
                "description": "The `id` of the offending command, or null if the envelope was unparseable.",
            },
            "error": {
                "type": "string",
                "enum": [
                    "invalid_argument",
                    "unknown_command",
                    "unknown_error",
                    "no_such_run",
                    "no_such_subscription",
                    "no_such_namespace",
                    "no_such_interrupt",
                    "no_such_checkpoint",
                    "permission_denied",
                    "not_supported",
                ],
            },
            "message": {"type": "string"},
            "stacktrace": {"type": "string"},
            "meta": {"$ref": "#/components/schemas/ProtocolResponseMeta"},
        },
        "additionalProperties": True,
    },
    "ProtocolEvent": {
        "type": "object",
        "title": "ProtocolEvent",
        "description": "A server → client event. Sent as JSON over WebSocket, or as the `data:` field of an SSE frame (with `event:` set to `method` and `id:` set to `seq`).",
        "required": ["type", "method", "params"],
        "properties": {
            "type": {"type": "string", "const": "event"},
            "event_id": {
                "type": "string",
                "description": "Unique ID for reconnection (mirrored to SSE `id:`).",
            },
            "seq": {
                "type": "integer",
                "minimum": 0,
                "description": "Monotonic per-session sequence number for ordering and replay.",
            },
            "method": {
                "type": "string",
                "description": "Channel method name (e.g. `messages`, `tools`, `lifecycle`, `custom:my_channel`).",
            },
            "params": {
                "type": "object",
                "required": ["namespace", "timestamp", "data"],
                "properties": {
                    "namespace": {"$ref": "#/components/schemas/ProtocolNamespace"},
                    "timestamp": {
                        "type": "integer",
                        "description": "Wall-clock milliseconds since Unix epoch. Use `seq` for ordering.",
                    },
                    "data": {
                        "description": "Channel-specific payload. See the CDDL spec for per-channel shapes."
                    },
                    "node": {
                        "type": "string",
                        "description": "Graph node that produced this event (messages, tools).",
                    },
                },
                "additionalProperties": True,
            },
        },
        "additionalProperties": True,
    },
}
A2A_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"], "description": "JSON-RPC version"},
        "id": {"type": "string", "description": "Request identifier"},
        "method": {
            "type": "string",
            "enum": ["message/send", "message/stream", "tasks/get", "tasks/cancel"],
            "description": "The method to invoke",
        },
        "params": {
            "type": "object",
            "description": "Method parameters; shape depends on the method.",
            "oneOf": [
                {
                    "title": "Message Send/Stream Parameters",
                    "type": "object",
                    "properties": {
                        "message": {
                            "type": "object",
                            "properties": {
                                "role": {
                                    "type": "string",
                                    "enum": ["user", "agent"],
                                    "description": "A2A role for the message sender.",
                                },
                                "parts": {
                                    "type": "array",
                                    "items": {
                                        "oneOf": [
                                            {
                                                "title": "Text Part",
                                                "type": "object",
                                                "properties": {
                                                    "kind": {"type": "string", "enum": ["text"]},
                                                    "text": {
                                                        "type": "string",
                                                        "description": "Text content.",
                                                    },
                                                },
                                                "required": ["kind", "text"],
                                            },
                                            {
                                                "title": "Data Part",
                                                "type": "object",
                                                "properties": {
                                                    "kind": {"type": "string", "enum": ["data"]},
                                                    "data": {
                                                        "type": "object",
                                                        "description": "Structured JSON merged into the assistant input.",
                                                    },
                                                },
                                                "required": ["kind", "data"],
                                            },
                                        ]
                                    },
                                    "description": "Message parts (text/data only).",
                                },
                                "messageId": {
                                    "type": "string",
                                    "description": "Client-generated message identifier.",
                                },
                                "contextId": {
                                    "type": "string",
                                    "description": "Conversation context ID; maps to LangGraph thread_id.",
                                },
                                "taskId": {
                                    "type": "string",
                                    "description": "Optional task ID. Currently ignored by this implementation.",
                                },
                            },
                            "required": ["role", "parts", "messageId"],
                        }
                    },
                    "required": ["message"],
                },
                {
                    "title": "Task Get Parameters",
                    "type": "object",
                    "properties": {
                        "id": {
                            "type": "string",
                            "description": "Task (run) identifier to retrieve.",
                        },
                        "contextId": {
                            "type": "string",
                            "description": "Context identifier (thread_id) for the task.",
                        },
                        "historyLength": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 10,
                            "description": "Maximum number of history messages to include.",
                        },
                    },
                    "required": ["id", "contextId"],
                },
                {
                    "title": "Task Cancel Parameters",
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": "Task (run) identifier to cancel."},
                        "contextId": {
                            "type": "string",
                            "description": "Context identifier (thread_id) for the task.",
                        },
                    },
                    "required": ["id", "contextId"],
                },
            ],
        },
    },
    "required": ["jsonrpc", "id", "method"],
}
A2A_EXAMPLES: dict[str, Any] = {
    "message_send": {
        "summary": "Send a message (synchronous)",
        "value": {
            "jsonrpc": "2.0",
            "id": "1",
            "method": "message/send",
            "params": {
                "message": {
                    "role": "user",
                    "parts": [
                        {"kind": "text", "text": "Hello from A2A"},
                        {"kind": "data", "data": {"locale": "en-US"}},
                    ],
                    "messageId": "msg-1",
                    "contextId": "f5bd2a40-74b6-4f7a-b649-ea3f09890003",
                }
            },
        },
    },
    "message_stream": {
        "summary": "Send a message (streaming)",
        "value": {
            "jsonrpc": "2.0",
            "id": "2",
            "method": "message/stream",
            "params": {
                "message": {
                    "role": "user",
                    "parts": [{"kind": "text", "text": "Stream this response"}],
                    "messageId": "msg-2",
                    "contextId": "f5bd2a40-74b6-4f7a-b649-ea3f09890003",
                }
            },
        },
    },
    "tasks_get": {
        "summary": "Get a task",
        "value": {
            "jsonrpc": "2.0",
            "id": "3",
            "method": "tasks/get",
            "params": {
                "id": "run-uuid",
                "contextId": "f5bd2a40-74b6-4f7a-b649-ea3f09890003",
                "historyLength": 10,
            },
        },
    },
    "tasks_cancel": {
        "summary": "Cancel a task (currently unsupported)",
        "value": {
            "jsonrpc": "2.0",
            "id": "4",
            "method": "tasks/cancel",
            "params": {"id": "run-uuid", "contextId": "f5bd2a40-74b6-4f7a-b649-ea3f09890003"},
        },
    },
    "message_stream_with_context": {
        "summary": "Stream multi-turn messages using the same contextId",
        "description": "Send a streaming message; reuse the same contextId for subsequent turns to keep conversation state.",
        "value": {
            "jsonrpc": "2.0",
            "id": "1",
            "method": "message/stream",
            "params": {
                "message": {
                    "role": "user",
                    "contextId": "thread-123",
                    "parts": [{"kind": "text", "text": "Hello!"}],
                    "messageId": "msg-1",
                }
            },
        },
    },
    "interrupt_resume_text": {
        "summary": "Resume an interrupted task with a text reply",
        "description": "When a task is in input-required state, send a normal text part with the same contextId and taskId to resume.",
        "value": {
            "jsonrpc": "2.0",
            "id": "2",
            "method": "message/send",
            "params": {
                "message": {
                    "role": "user",
                    "contextId": "thread-123",
                    "parts": [{"kind": "text", "text": "Here is the info you asked for."}],
                    "messageId": "msg-2",
                    "taskId": "thread-123:run-456",
                }
            },
        },
    },
    "interrupt_resume_data_parallel": {
        "summary": "Resume parallel interrupts with a data part",
        "description": "Advanced: if your agent supports parallel interrupts, provide a structured resume payload in a data part with the same contextId and taskId.",
        "value": {
            "jsonrpc": "2.0",
            "id": "3",
            "method": "message/send",
            "params": {
                "message": {
                    "role": "user",
                    "contextId": "thread-123",
                    "parts": [
                        {
                            "kind": "data",
                            "data": {
                                "resume": [
                                    {"id": "interrupt-1", "value": {"choice": "A"}},
                                    {"id": "interrupt-2", "value": {"choice": "B"}},
                                ]
                            },
                        }
                    ],
                    "messageId": "msg-3",
                    "taskId": "thread-123:run-456",
                }
            },
        },
    },
}
MCP_EXAMPLE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": "1",
    "method": "initialize",
    "params": {
        "clientInfo": {"name": "test_client", "version": "1.0.0"},
        "protocolVersion": "2024-11-05",
        "capabilities": {},
    },
}


def component(name: str) -> dict[str, Any]:
    """A reference to the Protocol component `name`."""
    if name not in SCHEMAS:
        raise KeyError(name)
    return {"$ref": f"#/components/schemas/{name}"}


def add_components(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every Protocol component, in name order with the
    others. The answers name some of them only inside hand-written schemas (a `oneOf`, an SSE
    frame's data), which drf-spectacular does not register."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({name: schema for name, schema in SCHEMAS.items() if name not in schemas})
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


# The request bodies as serializers, so that drf-spectacular marks them required.
EventStreamRequestSerializer = raw_component(
    "ProtocolEventStreamRequest", lambda ref: SCHEMAS["ProtocolEventStreamRequest"]
)
CommandSerializer = raw_component("ProtocolCommand", lambda ref: SCHEMAS["ProtocolCommand"])

# What A2A and MCP answer a JSON-RPC request with (200, whether it succeeded or not).
JSON_RPC_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"]},
        "id": {"description": "The request's id, as sent (null if the request had none)."},
        "result": {"type": "object", "description": "The method's result."},
        "error": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            "required": ["code", "message"],
            "description": "Why the request failed.",
        },
    },
    "required": ["jsonrpc", "id"],
}


def sse_frames(data: dict[str, Any], description: str = "") -> OpenApiResponse:
    """Server-sent events whose `data:` is JSON of the schema `data`."""
    return OpenApiResponse(
        {
            "type": "object",
            "properties": {
                "event": {"type": "string"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": data,
                },
                "id": {"type": "string"},
            },
        },
        description=description,
    )


def error_response(description: str) -> OpenApiResponse:
    """An ErrorResponse answer that says when it comes."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)
