"""The one translation of an auth handler's filter ({"owner": "a"}, {"k": {"$eq": v}},
{"k": {"$contains": v}}, "$or"/"$and") into a Django Q on a JSON metadata field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, JSONField, Q, Value
from django.db.models.fields.json import DataContains, KeyTransform, KeyTransformExact

from access.context import current_filter
from core.errors import SpindleError


class BadFilter(SpindleError):
    """The application's auth handler returned a filter Spindle cannot apply: its bug, not
    the caller's, so 500 with a message that says where to look."""

    status_code = 500
    default_detail = "The auth handler returned an invalid filter"


# As on the official server: "$or"/"$and" may nest, but no deeper than this.
MAX_NESTING = 2


def filter_q(filters: Mapping[str, Any] | None, field: str = "metadata", *, depth: int = 0) -> Q:
    """Rows whose JSON `field` matches every condition of `filters` (an empty Q for none).

    A bare value or {"$eq": v} means the key holds exactly v; {"$contains": v} means the
    key holds a list containing v (every element of v when v is a list; PostgreSQL only,
    as JSON containment is)."""
    if depth > MAX_NESTING:
        raise BadFilter(
            f"The auth handler's filter nests operators deeper than {MAX_NESTING} levels"
        )
    q = Q()
    for key, condition in (filters or {}).items():
        if key in ("$or", "$and"):
            if not isinstance(condition, list) or len(condition) < 2:
                raise BadFilter(
                    f"The auth handler's filter: {key} needs a list of at least 2 filters"
                )
            parts = [filter_q(part, field, depth=depth + 1) for part in condition]
            combined = parts[0]
            for part in parts[1:]:
                combined = (combined | part) if key == "$or" else (combined & part)
            q &= combined
            continue
        path = KeyTransform(str(key), F(field))
        if isinstance(condition, Mapping):
            if len(condition) != 1:
                raise BadFilter(f"The auth handler's filter on {key!r} must hold one operator")
            operator, value = next(iter(condition.items()))
            if operator == "$eq":
                q &= _equals(path, value)
            elif operator == "$contains":
                wanted = value if isinstance(value, list) else [value]
                q &= Q(DataContains(path, _json(wanted)))
            else:
                raise BadFilter(
                    f"The auth handler's filter uses {operator!r}: only $eq and $contains are supported"
                )
        else:
            q &= _equals(path, condition)
    return q


def _json(value: Any) -> Value:
    # The lookups are built before their left side is resolved, so the value is given its
    # JSON type here rather than by the key's output field.
    return Value(value, output_field=JSONField())


def _equals(path: KeyTransform, value: Any) -> Q:
    return Q(KeyTransformExact(path, _json(value)))


def caller_q(resource: str, field: str = "metadata") -> Q:
    """The rows of `resource` the request's caller may see, by the filter its auth handler
    returned in this request (access.handlers.authorize); everything outside a request."""
    return filter_q(current_filter(resource), field)
