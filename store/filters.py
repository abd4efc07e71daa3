"""Search filters on item values: exact matches and the comparison operators
($eq, $ne, $gt, $gte, $lt, $lte), as the official stores apply them."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput, SpindleError

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


class StoreRequestError(SpindleError):
    """A request the store itself refuses (400, as the official server answers the
    store's ValueErrors): an empty or reserved namespace, an unknown filter operator."""

    status_code = 400
    default_detail = "Bad Request"


def validate_filter(filter: Any) -> None:
    """InvalidInput (422) for a filter that is not an object; StoreRequestError (400) for an
    unknown operator, as officially."""
    if not isinstance(filter, dict):
        raise InvalidInput("filter: must be an object")
    for key, condition in filter.items():
        if not isinstance(key, str):
            raise InvalidInput("filter: keys must be strings")
        if isinstance(condition, dict) and any(str(k).startswith("$") for k in condition):
            for operator in condition:
                if operator not in OPERATORS:
                    raise StoreRequestError(f"Unsupported operator: {operator}")
        elif isinstance(condition, dict):
            validate_filter(condition)


def matches(value: Any, filter: dict[str, Any] | None) -> bool:
    """Whether an item's value passes every condition of the filter."""
    if not filter:
        return True
    if not isinstance(value, dict):
        return False
    return all(_condition(value.get(key), condition) for key, condition in filter.items())


def _condition(actual: Any, condition: Any) -> bool:
    if isinstance(condition, dict):
        if any(str(k).startswith("$") for k in condition):
            return all(_operator(actual, op, operand) for op, operand in condition.items())
        return isinstance(actual, dict) and all(
            _condition(actual.get(k), v) for k, v in condition.items()
        )
    if isinstance(condition, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(condition)
            and all(_condition(a, c) for a, c in zip(actual, condition, strict=True))
        )
    return _equal(actual, condition)


def _equal(actual: Any, expected: Any) -> bool:
    # JSON equality: true is not 1, as in PostgreSQL's jsonb.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return actual == expected


def _operator(actual: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return _equal(actual, operand)
    if operator == "$ne":
        return not _equal(actual, operand)
    # Ordering compares numbers with numbers and strings with strings; anything else
    # (a missing field included) does not match.
    if (
        _is_number(actual)
        and _is_number(operand)
        or isinstance(actual, str)
        and isinstance(operand, str)
    ):
        if operator == "$gt":
            return actual > operand
        if operator == "$gte":
            return actual >= operand
        if operator == "$lt":
            return actual < operand
        if operator == "$lte":
            return actual <= operand
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
