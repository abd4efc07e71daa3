"""core.http.json_response: orjson's bytes with their length, so servers send them unchunked."""

from __future__ import annotations

import json

from core.http import json_response


def test_a_json_response_carries_its_length_and_status() -> None:
    data = {"messages": [{"type": "human", "content": "héllo"}], "n": 2**70}
    response = json_response(data, status=201, headers={"Location": "/x"})
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["Location"] == "/x"
    assert json.loads(response.content) == data
    assert response["Content-Length"] == str(len(response.content))
