"""JSON for every app: dumps and loads (orjson, with Python's json for what orjson refuses),
and to_jsonable, which turns graph values (messages, pydantic models, dataclasses,
interrupts) into plain JSON."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import operator
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON of plain JSON values (`default` converts anything else). orjson, as a
    thread's values hold its whole message history; Python's json for integers beyond
    64 bits, which orjson refuses."""
    try:
        return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"), default=default).encode()


def loads(data: str | bytes) -> Any:
    """Parse JSON that dumps wrote. Python's json, not orjson: orjson reads an integer beyond
    64 bits as a float, and would change such a value. Request bodies take the strict
    parser, core.input.load_json."""
    return json.loads(data)


# Datetimes and dataclasses go through _default, so they come out as the walk below
# renders them (isoformat(), fields by name).
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def to_jsonable(value: Any) -> Any:
    """Convert `value` into dicts, lists, str, int, float, bool and None.

    orjson does the walk in C (a thread's message history is thousands of objects);
    what it refuses (keys that are not strings, integers beyond 64 bits) takes the
    Python walk, which gives the same result.
    """
    try:
        return orjson.loads(orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS))
    except (TypeError, orjson.JSONEncodeError):
        return _walk(value)


def _default(value: Any) -> Any:
    """What orjson cannot serialize itself, as the Python walk would render it.

    The conversion a type takes is found once (`_converter`): a message history calls
    this for every message, and the checks before `model_dump` (an abstract class's
    isinstance among them) had cost as much as the dumps."""
    convert = _converters.get(type(value))
    if convert is None:
        convert = _converter(value)
    return convert(value)


_converters: dict[type, Callable[[Any], Any]] = {}
# Types are few, but a program can make classes at run time: the cache is bounded.
_MAX_CONVERTERS = 1000


def _converter(value: Any) -> Callable[[Any], Any]:
    """The conversion `_convert` gives values of `value`'s type, where the type alone decides
    it (else `_convert` itself), kept for the type."""
    cls = type(value)
    convert: Callable[[Any], Any] = _convert
    if isinstance(value, Mapping):
        convert = dict
    elif isinstance(value, tuple | set | frozenset):
        convert = list
    elif not isinstance(
        value, datetime.datetime | datetime.date | datetime.time | Decimal | bytes | bytearray
    ) and callable(getattr(cls, "model_dump", None)):
        convert = _MODEL_DUMP
    if len(_converters) >= _MAX_CONVERTERS:
        _converters.clear()
    _converters[cls] = convert
    return convert


_MODEL_DUMP = operator.methodcaller("model_dump")


def _convert(value: Any) -> Any:
    """`_default`'s conversion, found by checking each kind in turn."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):  # named tuples included: lists, as in _walk
        return list(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    to_dict = getattr(value, "_asdict", None) or getattr(value, "dict", None)
    if callable(to_dict):
        try:
            return to_dict()
        except TypeError:
            pass
    return str(value)


def _walk(value: Any) -> Any:
    """The reference conversion, recursive in Python."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _walk(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_walk(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _walk(value.value)
    converted = _default(value)
    return converted if isinstance(converted, str) else _walk(converted)
