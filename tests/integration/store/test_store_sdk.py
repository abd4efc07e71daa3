"""Every client.store method of langgraph_sdk against the store API, in-process over ASGI."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from langgraph_sdk.client import LangGraphClient

from store.models import StoreItem, StoreVector
from store.services import items_sweep_expired
from tests.integration.store.conftest import INDEX

pytestmark = pytest.mark.django_db(transaction=True)


def _count() -> int:
    return StoreItem.objects.count()


async def test_put_get_update_delete_item(sdk: LangGraphClient, store_config) -> None:
    assert await sdk.store.put_item(["users", "u1"], "prefs", {"theme": "dark"}) is None
    item = await sdk.store.get_item(["users", "u1"], "prefs")
    assert set(item) == {"namespace", "key", "value", "created_at", "updated_at"}
    assert (item["namespace"], item["key"], item["value"]) == (
        ["users", "u1"],
        "prefs",
        {"theme": "dark"},
    )
    created = datetime.fromisoformat(item["created_at"])
    assert created.tzinfo is not None and created == datetime.fromisoformat(item["updated_at"])

    await sdk.store.put_item(["users", "u1"], "prefs", {"theme": "light"})
    again = await sdk.store.get_item(["users", "u1"], "prefs")
    assert again["value"] == {"theme": "light"}
    assert again["created_at"] == item["created_at"]
    assert datetime.fromisoformat(again["updated_at"]) > created

    assert await sdk.store.delete_item(["users", "u1"], "prefs") is None
    assert await sdk.store.get_item(["users", "u1"], "prefs") is None
    missing = await sdk.http.client.get(
        "/store/items", params={"namespace": "users.u1", "key": "prefs"}
    )
    assert (missing.status_code, missing.content, missing.headers["content-type"]) == (
        200,
        b"null",
        "application/json",
    )
    # An empty key is a key.
    await sdk.store.put_item(["users", "u1"], "", {"empty": True})
    # (GET cannot name it: an empty key there is "Key is required", officially too.)
    assert [i["key"] for i in (await sdk.store.search_items(["users"]))["items"]] == [""]
    await sdk.store.delete_item(["users", "u1"], "")
    # Deleting what is not there is not an error.
    await sdk.store.delete_item(["users", "u1"], "prefs")
    assert await sync_to_async(_count)() == 0


async def test_search_items_filters_and_pages_newest_first(
    sdk: LangGraphClient, store_config
) -> None:
    for i, (kind, size) in enumerate([("fruit", 1), ("fruit", 5), ("veg", 3), ("fruit", 9)]):
        await sdk.store.put_item(
            ["food", kind], f"k{i}", {"kind": kind, "size": size, "tags": {"fresh": i % 2 == 0}}
        )
    await sdk.store.put_item(["other"], "x", {"kind": "fruit", "size": 100})

    everything = await sdk.store.search_items(["food"])
    assert [i["key"] for i in everything["items"]] == ["k3", "k2", "k1", "k0"]
    assert set(everything["items"][0]) == {
        "namespace",
        "key",
        "value",
        "created_at",
        "updated_at",
        "score",
    }
    assert everything["items"][0]["score"] is None

    async def keys(namespace_prefix: list[str], **kwargs) -> list[str]:
        return [
            i["key"] for i in (await sdk.store.search_items(namespace_prefix, **kwargs))["items"]
        ]

    assert await keys(namespace_prefix=["food", "fruit"]) == ["k3", "k1", "k0"]
    assert await keys(namespace_prefix=[], filter={"kind": "fruit"}) == ["x", "k3", "k1", "k0"]
    assert await keys(namespace_prefix=["food"], filter={"kind": {"$eq": "veg"}}) == ["k2"]
    assert await keys(namespace_prefix=["food"], filter={"kind": {"$ne": "veg"}}) == [
        "k3",
        "k1",
        "k0",
    ]
    assert await keys(namespace_prefix=["food"], filter={"size": {"$gt": 3}}) == ["k3", "k1"]
    assert await keys(namespace_prefix=["food"], filter={"size": {"$gte": 3}}) == ["k3", "k2", "k1"]
    assert await keys(namespace_prefix=["food"], filter={"size": {"$lt": 5}}) == ["k2", "k0"]
    assert await keys(namespace_prefix=["food"], filter={"size": {"$lte": 5, "$gt": 1}}) == [
        "k2",
        "k1",
    ]
    assert await keys(namespace_prefix=["food"], filter={"tags": {"fresh": True}}) == ["k2", "k0"]
    assert await keys(namespace_prefix=["food"], filter={"kind": "fruit", "size": {"$gt": 1}}) == [
        "k3",
        "k1",
    ]
    assert await keys(namespace_prefix=["food"], limit=2) == ["k3", "k2"]
    assert len(await keys(namespace_prefix=[], limit=0)) == 5  # 0: the default of 10, officially
    assert await keys(namespace_prefix=["food"], limit=2, offset=2) == ["k1", "k0"]
    assert await keys(namespace_prefix=["food"], filter={"kind": "fruit"}, limit=1, offset=1) == [
        "k1"
    ]
    assert await keys(namespace_prefix=["fo"]) == []


async def test_list_namespaces_with_prefix_suffix_and_depth(
    sdk: LangGraphClient, store_config
) -> None:
    for namespace in (["a", "b", "c"], ["a", "b", "d"], ["a", "e"], ["x", "b", "c"]):
        await sdk.store.put_item(namespace, "k", {"v": 1})

    async def names(**kwargs) -> list[list[str]]:
        return (await sdk.store.list_namespaces(**kwargs))["namespaces"]

    assert await names() == [["a", "b", "c"], ["a", "b", "d"], ["a", "e"], ["x", "b", "c"]]
    assert await names(prefix=["a", "b"]) == [["a", "b", "c"], ["a", "b", "d"]]
    assert await names(suffix=["c"]) == [["a", "b", "c"], ["x", "b", "c"]]
    assert await names(prefix=["*", "b"]) == [["a", "b", "c"], ["a", "b", "d"], ["x", "b", "c"]]
    assert await names(max_depth=2) == [["a", "b"], ["a", "e"], ["x", "b"]]
    assert await names(prefix=["a"], max_depth=1) == [["a"]]
    assert await names(limit=2, offset=1) == [["a", "b", "d"], ["a", "e"]]


async def test_bad_requests_answer_4xx_and_write_nothing(
    sdk: LangGraphClient, store_config
) -> None:
    http = sdk.http.client
    cases = [
        ("PUT", "/store/items", {"namespace": ["a.b"], "key": "k", "value": {}}, 422, "namespace"),
        (
            "PUT",
            "/store/items",
            {"namespace": [], "key": "k", "value": {}},
            400,
            "Namespace cannot be empty.",
        ),
        (
            "PUT",
            "/store/items",
            {"namespace": ["a"], "key": "k", "value": [1]},
            422,
            "value: Must be an object",
        ),
        ("PUT", "/store/items", {"namespace": ["a"], "value": {}}, 422, "key"),
        (
            "PUT",
            "/store/items",
            {"namespace": ["langgraph"], "key": "k", "value": {}},
            400,
            'cannot be "langgraph"',
        ),
        (
            "PUT",
            "/store/items",
            {"namespace": ["a"], "key": "k", "value": {"t": "\x00"}},
            422,
            "NUL",
        ),
        (
            "PUT",
            "/store/items",
            {"namespace": ["a"], "key": "k", "value": {}, "ttl": "soon"},
            422,
            "ttl",
        ),
        (
            "POST",
            "/store/items/search",
            {"filter": {"a": {"$regex": "x"}}},
            400,
            "Unsupported operator: $regex",
        ),
        ("POST", "/store/items/search", {"limit": 0.5}, 422, "limit"),
        ("POST", "/store/namespaces", {"prefix": [""]}, 422, "non-empty"),
        ("POST", "/store/namespaces", {"max_depth": 0}, 422, "max_depth"),
    ]
    for method, path, body, status, needle in cases:
        response = await http.request(method, path, json=body)
        assert response.status_code == status, (body, response.text)
        assert needle in response.json()["detail"], (body, response.json())
    response = await http.get("/store/items", params={"namespace": "a"})
    assert (response.status_code, response.json()) == (400, {"detail": "Key is required"})
    response = await http.put(
        "/store/items", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "Invalid JSON in request body"},
    )
    assert await sync_to_async(_count)() == 0


async def test_ttl_expires_items_and_refresh_on_read_extends_them(
    sdk: LangGraphClient, store_config
) -> None:
    await sdk.store.put_item(["t"], "short", {"v": 1}, ttl=0.002)  # 120 ms
    await sdk.store.put_item(["t"], "long", {"v": 2}, ttl=10)
    await sdk.store.put_item(["t"], "forever", {"v": 3})
    await asyncio.sleep(0.3)
    assert await sdk.store.get_item(["t"], "short") is None
    assert [i["key"] for i in (await sdk.store.search_items(["t"]))["items"]] == ["forever", "long"]
    assert (await sdk.store.list_namespaces())["namespaces"] == [["t"]]

    def expiry(key: str) -> datetime | None:
        return StoreItem.objects.get(key=key).expires_at

    before = await sync_to_async(expiry)("long")
    assert timedelta(minutes=9) < before - timezone.now() <= timedelta(minutes=10)
    assert await sync_to_async(expiry)("forever") is None
    await sdk.store.get_item(["t"], "long", refresh_ttl=False)
    assert await sync_to_async(expiry)("long") == before
    await sdk.store.get_item(["t"], "long", refresh_ttl=True)
    refreshed = await sync_to_async(expiry)("long")
    assert refreshed > before
    await sdk.store.search_items(["t"], refresh_ttl=True)
    assert await sync_to_async(expiry)("long") > refreshed

    # The expired row is still there until the sweep, which deletes only it.
    assert await sync_to_async(_count)() == 3
    assert await sync_to_async(items_sweep_expired)() == 1
    assert await sync_to_async(
        lambda: sorted(StoreItem.objects.values_list("key", flat=True))
    )() == ["forever", "long"]


async def test_default_ttl_from_langgraph_json(sdk: LangGraphClient, store_config) -> None:
    store_config({"ttl": {"default_ttl": 5, "refresh_on_read": False}})
    await sdk.store.put_item(["t"], "k", {"v": 1})
    first = await sync_to_async(lambda: StoreItem.objects.get(key="k").expires_at)()
    assert timedelta(minutes=4) < first - timezone.now() <= timedelta(minutes=5)
    # refresh_on_read false: a plain read does not extend it.
    await sdk.store.get_item(["t"], "k")
    assert await sync_to_async(lambda: StoreItem.objects.get(key="k").expires_at)() == first


async def test_semantic_search_ranks_the_nearest_item_first(
    sdk: LangGraphClient, store_config
) -> None:
    store_config({"index": INDEX})
    await sdk.store.put_item(["docs"], "pets", {"text": "my cat and my dog", "kind": "animals"})
    await sdk.store.put_item(["docs"], "cats", {"text": "cats cats cats", "kind": "animals"})
    await sdk.store.put_item(["docs"], "food", {"text": "pizza and pasta", "kind": "food"})
    await sdk.store.put_item(["docs"], "plain", {"text": "cat"}, index=False)
    assert await sync_to_async(StoreVector.objects.count)() == 3

    found = (await sdk.store.search_items(["docs"], query="a cat"))["items"]
    assert [i["key"] for i in found] == ["cats", "pets", "food", "plain"]
    scores = [i["score"] for i in found]
    assert (
        scores[0] == pytest.approx(1.0) and scores[0] > scores[1] > scores[2] and scores[3] is None
    )

    food_first = await sdk.store.search_items(["docs"], query="pasta", limit=1)
    assert [i["key"] for i in food_first["items"]] == ["food"]
    filtered = await sdk.store.search_items(["docs"], query="pizza", filter={"kind": "animals"})
    # Neither animal item mentions pizza: both score alike, and the newer comes first.
    assert [i["key"] for i in filtered["items"]] == ["cats", "pets"]

    # Re-putting replaces the vectors: the item now ranks as what it says.
    await sdk.store.put_item(["docs"], "cats", {"text": "soup", "kind": "food"})
    assert (await sdk.store.search_items(["docs"], query="soup", limit=1))["items"][0][
        "key"
    ] == "cats"


async def test_get_with_a_bad_namespace_answers_422(sdk: LangGraphClient, store_config) -> None:
    response = await sdk.http.client.get("/store/items", params={"namespace": "a..b", "key": "k"})
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)
