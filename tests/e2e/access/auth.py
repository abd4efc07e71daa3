"""An examples-style custom auth: two users by bearer token; every resource is tagged with
its owner and filtered by it; store items live under the caller's own namespace."""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

auth = Auth()

TOKENS = {"token-a": "user-a", "token-b": "user-b"}


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid or missing token")
    return {"identity": TOKENS[token], "display_name": TOKENS[token].title(), "permissions": ["runs:write"]}


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType:
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.update(filters)
    return filters


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    value["namespace"] = (ctx.user.identity, *value["namespace"])
