"""Graph factories get (config, runtime) as the official server passes them: a
langgraph_sdk ServerRuntime with the store, the access context and, when executing, the
run's context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from assistants.graphs import GraphRegistryError, aget_graph, get_graph

FACTORIES = """
from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph_sdk.runtime import ServerRuntime


def build(name):
    builder = StateGraph(MessagesState)
    builder.add_node("n", lambda state: {})
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile(name=name)


def describe(config, runtime):
    execution = runtime.execution_runtime
    label = (config or {}).get("configurable", {}).get("label") if config is not None else None
    context = execution.context if execution else None
    return f"{label}|{runtime.access_context}|{context}|{type(runtime.store).__name__}"


def runtime_only(runtime: ServerRuntime):
    return build(describe(None, runtime))


def config_then_runtime(config: RunnableConfig, runtime: ServerRuntime):
    return build(describe(config, runtime))


def runtime_then_config(runtime: ServerRuntime[dict], config):
    return build(describe(config, runtime))


def unannotated(config, runtime):
    return build(describe(config, runtime))


async def async_factory(config, runtime: ServerRuntime):
    return build(describe(config, runtime))


def too_many(a, b, c):
    return build("x")
"""


@pytest.fixture
def factories(tmp_path: Path, settings: Any) -> None:
    (tmp_path / "factories.py").write_text(FACTORIES)
    names = [
        "runtime_only",
        "config_then_runtime",
        "runtime_then_config",
        "unannotated",
        "async_factory",
        "too_many",
    ]
    config = {"graphs": {name: f"./factories.py:{name}" for name in names}}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    settings.LANGGRAPH_CONFIG = str(tmp_path / "langgraph.json")


CONFIG = {"configurable": {"label": "L"}}


@pytest.mark.parametrize(
    "graph_id", ["config_then_runtime", "runtime_then_config", "unannotated", "async_factory"]
)
async def test_a_two_argument_factory_gets_the_config_and_an_execution_runtime(
    factories: None, graph_id: str
) -> None:
    store = InMemoryStore()
    graph = await aget_graph(
        graph_id,
        config=CONFIG,
        store=store,
        access_context="threads.create_run",
        context={"tenant": "t1"},
    )
    assert graph.name == "L|threads.create_run|{'tenant': 't1'}|InMemoryStore"
    assert graph.store is store


def test_outside_a_run_the_factory_gets_a_read_runtime_with_the_django_store(
    factories: None,
) -> None:
    assert (
        get_graph("config_then_runtime", config=CONFIG).name == "L|assistants.read|None|DjangoStore"
    )
    graph = get_graph("runtime_only", access_context="threads.read")
    assert graph.name == "None|threads.read|None|DjangoStore"
    assert type(graph.store).__name__ == "DjangoStore"


async def test_a_factory_with_three_arguments_is_a_registry_error(factories: None) -> None:
    with pytest.raises(GraphRegistryError, match="at most two arguments"):
        await aget_graph("too_many")
