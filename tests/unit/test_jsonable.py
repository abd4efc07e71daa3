"""to_jsonable's orjson path gives what the reference walk gives."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from collections import OrderedDict, namedtuple
from decimal import Decimal
from types import MappingProxyType

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Interrupt
from pydantic import BaseModel

from core.json import _walk, to_jsonable


class Color(enum.Enum):
    RED = "red"


class Level(int, enum.Enum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    y: datetime.date


class Profile(BaseModel):
    name: str
    tags: set[str]
    seen: datetime.datetime


Pair = namedtuple("Pair", "left right")

WHEN = datetime.datetime(2026, 11, 23, 12, 30, tzinfo=datetime.UTC)

CASES = {
    "messages": {
        "messages": [
            HumanMessage("hi", id="1"),
            AIMessage(
                "",
                id="2",
                tool_calls=[{"name": "get_weather", "args": {"city": "sf"}, "id": "call_1"}],
            ),
            ToolMessage("sunny", tool_call_id="call_1", id="3"),
        ]
    },
    "interrupt": {"__interrupt__": [Interrupt(value={"question": "ok?"}, id="abc")]},
    "scalars": [
        None,
        True,
        1,
        1.5,
        "x",
        uuid.UUID(int=7),
        WHEN,
        WHEN.date(),
        WHEN.time(),
        Decimal("2.5"),
    ],
    "containers": {
        "t": (1, 2),
        "s": {3},
        "f": frozenset({4}),
        "o": OrderedDict(a=1),
        "m": MappingProxyType({"k": 1}),
    },
    "named tuple": Pair(1, [2]),
    "enums": [Color.RED, Level.HIGH],
    "bytes": [b"abc", bytearray(b"\xff")],
    "dataclass": Point(1, WHEN.date()),
    "pydantic": Profile(name="a", tags={"t"}, seen=WHEN),
    "non-str keys": {1: "a", None: "b", WHEN: "c"},
    "big int": {"n": 2**70},
    "fallback": object.__new__(type("Opaque", (), {"__str__": lambda self: "opaque"})),
}


@pytest.mark.parametrize("name", list(CASES))
def test_to_jsonable_matches_the_reference_walk(name: str) -> None:
    value = CASES[name]
    assert to_jsonable(value) == _walk(value)


def test_messages_come_out_as_their_fields() -> None:
    out = to_jsonable(CASES["messages"])
    assert out["messages"][1]["tool_calls"][0]["args"] == {"city": "sf"}
    assert [m["type"] for m in out["messages"]] == ["human", "ai", "tool"]


def test_messages_and_interrupts_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.json

    expected = {
        name: _walk(CASES[name]) for name in ("messages", "interrupt", "pydantic", "dataclass")
    }
    monkeypatch.setattr(
        core.json, "_walk", lambda value: pytest.fail("fell back to the Python walk")
    )
    for name, reference in expected.items():
        assert to_jsonable(CASES[name]) == reference


def test_db_json_writes_what_the_orm_would_read_back() -> None:
    import json

    from core.db.sql import db_json

    value = {
        "messages": [{"content": "héllo ✓", "n": 1.5}],
        3: "int key",
        "big": 2**70,
        "t": (1, 2),
    }
    assert db_json(None) is None
    assert json.loads(db_json(value)) == json.loads(json.dumps(value))
    assert json.loads(db_json({"a": [1, 2]})) == {"a": [1, 2]}


class DumpingMapping(dict):
    def model_dump(self) -> str:
        return "not used: a mapping is a dict"


class InstanceDump:
    """model_dump set on one instance only: not a trait of the type."""


class BrokenDict:
    def dict(self, required: object) -> dict:
        return {}

    def __str__(self) -> str:
        return "broken"


def test_the_conversion_kept_per_type_is_the_one_each_check_finds() -> None:
    from core.json import _convert, _default

    with_dump = InstanceDump()
    with_dump.model_dump = lambda: {"one": 1}  # type: ignore[attr-defined]
    values = [
        DumpingMapping(a=1),
        with_dump,
        InstanceDump(),
        BrokenDict(),
        Pair(1, 2),
        WHEN,
        Decimal("1.5"),
        b"x",
        Point(1, WHEN.date()),
        Profile(name="a", tags={"t"}, seen=WHEN),
        HumanMessage("hi", id="1"),
        MappingProxyType({"k": 1}),
    ]
    for value in values * 2:  # the second time, from the kept conversion
        assert _default(value) == _convert(value), value
