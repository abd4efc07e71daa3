"""The input gate's checks and the error messages' bound, without a database."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, bounded, error_payload
from core.input import MAX_DEPTH, check_json, load_json
from runs.sse import REPLAY_ALL, parse_last_event_id


def deep(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_depth_is_checked_without_recursion_and_named() -> None:
    check_json({"a": deep(MAX_DEPTH - 1)})
    with pytest.raises(InvalidInput, match=r"^a\[0\]\[0\]: nested deeper than 100 levels$"):
        check_json({"a": deep(50_000)})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"k": ["ok", "a\x00"]}, "k[1]: must not contain NUL characters"),
        ({"k": {"\ud83d": 1}}, "k.\ud83d: key must not contain lone UTF-16 surrogates"),
        ({"n": 2**63}, "n: integer out of range (must fit in 64 bits)"),
        ({"n": -(2**63) - 1}, "n: integer out of range (must fit in 64 bits)"),
        ("x" * 40 + "\x00", "body: must not contain NUL characters"),
    ],
)
def test_values_no_column_can_hold_are_refused(value: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_json(value)
    assert caught.value.detail == message


def test_values_at_the_limits_are_taken() -> None:
    check_json(
        {"n": [2**63 - 1, -(2**63)], "f": 1.5e300, "s": "\U0001f600 ok", "b": True, "z": None}
    )
    assert load_json(b'{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


@pytest.mark.parametrize("raw", [b"NaN", b"[1e400]", b"{", b"\xff", b'"\\ud800"'])
def test_what_is_not_strict_json_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        load_json(raw)


def test_long_keys_are_named_by_a_short_prefix() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_json({"k" * 100_000: "\x00"})
    assert caught.value.detail == "k" * 32 + "…: must not contain NUL characters"


def test_error_messages_quote_no_more_than_a_short_prefix() -> None:
    assert bounded(f"Checkpoint {'c' * 100_000} not found") == f"Checkpoint {'c' * 32}… not found"
    assert bounded("Thread 01a22c93-68eb-7000-b526-ec307a4d8d51 not found").endswith(
        "d51 not found"
    )
    assert len(bounded("word " * 10_000)) == 1001
    status, body = error_payload(InvalidInput("x" * 100_000))
    assert (status, body) == (422, {"detail": "x" * 32 + "…"})


def test_last_event_ids_outside_redis_and_date_ranges_are_ignored() -> None:
    assert parse_last_event_id("-1") == REPLAY_ALL
    assert parse_last_event_id("1732970000000-3") == "1732970000000-3"
    assert parse_last_event_id("99999999999999999999-0") is None
    assert parse_last_event_id("1-99999999999999999999") is None
