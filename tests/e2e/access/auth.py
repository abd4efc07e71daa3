"""An examples-style custom auth: two users by bearer token; every resource is tagged with
its owner and filtered by it; store items live under the caller's own namespace."""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

auth = Auth()

TOKENS = {"token-a": "user-a", "token-b": "user-b", "token-c": "user-c"}
# user-c may only read.
PERMISSIONS = {"user-c": ["readonly"]}
WRITES = {"create", "update", "delete", "create_run", "put"}


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if token == "crash":
        raise RuntimeError("the identity provider is down")
    if scheme.lower() != "bearer" or token not in TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid or missing token")
    identity = TOKENS[token]
    return {
        "identity": identity,
        "display_name": identity.title(),
        "permissions": PERMISSIONS.get(identity, ["runs:write"]),
    }


@auth.on
async def owner_only(
    ctx: Auth.types.AuthContext, value: dict[str, Any]
) -> Auth.types.FilterType | bool:
    if "readonly" in ctx.permissions and ctx.action in WRITES:
        return False
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.update(filters)
    return filters


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> bool:
    if "readonly" in ctx.permissions and ctx.action in WRITES:
        return False
    value["namespace"] = (ctx.user.identity, *value["namespace"])
    return True
