"""core.json: dumps and loads keep what orjson alone would refuse or change."""

import math

from core.json import dumps, loads


def test_dumps_is_compact_and_takes_non_string_keys() -> None:
    assert dumps({"a": [1, 2], 3: None}) == b'{"a":[1,2],"3":null}'


def test_integers_beyond_64_bits_round_trip_exactly() -> None:
    value = {"big": 2**70, "small": -(2**65), "list": [2**64]}
    assert (
        dumps(value)
        == b'{"big":1180591620717411303424,"small":-36893488147419103232,"list":[18446744073709551616]}'
    )
    assert loads(dumps(value)) == value


def test_default_converts_what_json_cannot_hold() -> None:
    assert dumps({"x": object}, default=lambda v: "converted") == b'{"x":"converted"}'
    assert (
        dumps({"x": object, "n": 2**70}, default=lambda v: "c")
        == b'{"x":"c","n":1180591620717411303424}'
    )


def test_loads_reads_what_python_json_writes() -> None:
    assert math.isnan(loads("[NaN]")[0])
    assert loads(b'{"a": 1}') == {"a": 1}
