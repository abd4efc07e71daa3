"""The langgraph.json registry: parsing, the three kinds of graph entries, and clear errors."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from assistants.graphs import (
    GraphNotFound,
    GraphRegistryError,
    aget_graph,
    default_assistant_id,
    get_graph,
    graph_ids,
    load_registry,
    parse_dotenv,
    reset_registry,
)
from core.errors import NotFound

REPO_ROOT = Path(__file__).resolve().parents[3]

GRAPH_MODULE = textwrap.dedent(
    '''
    """A test graph module."""
    from langchain_core.messages import AIMessage
    from langgraph.graph import END, START, MessagesState, StateGraph


    async def node(state):
        return {"messages": [AIMessage(content="from {label}")]}


    def build(label="static"):
        b = StateGraph(MessagesState)
        b.add_node("node", node)
        b.add_edge(START, "node")
        b.add_edge("node", END)
        return b


    builder = build()
    compiled = builder.compile()
    not_a_graph = 42


    def factory(config):
        return build().compile(name=config["configurable"].get("label", "none"))


    async def async_factory(config):
        return build()


    def no_arg_factory():
        return build().compile()


    def bad_factory(config):
        return "nope"
    '''
)


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets a fresh registry and leaves sys.path and sys.modules as it found them."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules_before = set(sys.modules)
    reset_registry()
    yield
    reset_registry()
    for name in set(sys.modules) - modules_before:
        if name == "graphs" or name.startswith(("graphs.", "spindle_graph_", "pkg_demo")):
            sys.modules.pop(name, None)


def write_project(tmp_path: Path, config: dict[str, Any], module: str = GRAPH_MODULE) -> Path:
    """A project folder with graphs/mygraphs.py and langgraph.json; returns the json path."""
    (tmp_path / "graphs").mkdir(exist_ok=True)
    (tmp_path / "graphs" / "mygraphs.py").write_text(module)
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def test_default_assistant_id_is_the_official_uuid5() -> None:
    namespace = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
    assert default_assistant_id("agent") == uuid.uuid5(namespace, "agent")
    assert str(default_assistant_id("agent")) == "fe096781-5601-53d2-b2f6-0d3403f7e9ca"


def test_repo_langgraph_json_registers_the_three_example_graphs() -> None:
    registry = load_registry(REPO_ROOT / "langgraph.json")
    assert list(registry) == ["agent", "echo", "interruptible"]
    assert registry["agent"].module == "examples.weather"
    assert registry["agent"].file_path == str(REPO_ROOT / "examples" / "weather.py")
    assert all(isinstance(spec.graph, Pregel) for spec in registry.values())


def test_graph_ids_follow_the_langgraph_config_setting(tmp_path: Path, settings: Any) -> None:
    settings.LANGGRAPH_CONFIG = str(
        write_project(
            tmp_path,
            {"graphs": {"b": "./graphs/mygraphs.py:compiled", "a": "./graphs/mygraphs.py:builder"}},
        )
    )
    assert graph_ids() == ["b", "a"]


def test_compiled_graph_statgraph_and_factories_all_load(tmp_path: Path) -> None:
    path = write_project(
        tmp_path,
        {
            "graphs": {
                "compiled": "./graphs/mygraphs.py:compiled",
                "builder": "./graphs/mygraphs.py:builder",
                "factory": "./graphs/mygraphs.py:factory",
                "async_factory": "./graphs/mygraphs.py:async_factory",
                "no_arg": {"path": "./graphs/mygraphs.py:no_arg_factory", "description": "d"},
            }
        },
    )
    registry = load_registry(path)
    assert isinstance(registry["compiled"].graph, Pregel)
    # A StateGraph is compiled once, at load.
    assert isinstance(registry["builder"].graph, Pregel)
    assert registry["builder"].factory is None
    assert registry["factory"].factory is not None and registry["async_factory"].factory is not None
    assert registry["no_arg"].description == "d"
    assert load_registry(path) is registry  # cached per path


def test_module_path_entries_are_imported_from_dependencies(tmp_path: Path) -> None:
    package = tmp_path / "src" / "pkg_demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "agent.py").write_text(GRAPH_MODULE)
    path = tmp_path / "langgraph.json"
    path.write_text(
        json.dumps(
            {
                "dependencies": ["./src", "langchain_openai"],
                "graphs": {"g": "pkg_demo.agent:compiled"},
            }
        )
    )

    registry = load_registry(path)

    assert str((tmp_path / "src").resolve()) in sys.path
    assert registry["g"].module == "pkg_demo.agent"
    assert isinstance(registry["g"].graph, Pregel)


def test_file_inside_a_dependency_is_imported_under_its_dotted_name(tmp_path: Path) -> None:
    path = write_project(
        tmp_path, {"dependencies": ["."], "graphs": {"g": "./graphs/mygraphs.py:compiled"}}
    )
    registry = load_registry(path)
    assert registry["g"].module == "graphs.mygraphs"
    assert sys.modules["graphs.mygraphs"].compiled is registry["g"].graph


def test_file_outside_sys_path_is_imported_under_a_private_name(tmp_path: Path) -> None:
    path = write_project(tmp_path, {"graphs": {"my graph": "./graphs/mygraphs.py:compiled"}})
    assert load_registry(path)["my graph"].module == "spindle_graph_my_graph"


def test_env_object_is_loaded_without_overriding_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPINDLE_TEST_KEEP", "from-env")
    monkeypatch.delenv("SPINDLE_TEST_NEW", raising=False)
    path = write_project(
        tmp_path,
        {
            "env": {"SPINDLE_TEST_KEEP": "from-json", "SPINDLE_TEST_NEW": 7},
            "graphs": {"g": "./graphs/mygraphs.py:compiled"},
        },
    )
    load_registry(path)
    assert os.environ["SPINDLE_TEST_KEEP"] == "from-env"
    assert os.environ["SPINDLE_TEST_NEW"] == "7"
    monkeypatch.delenv("SPINDLE_TEST_NEW")


def test_env_file_is_loaded_relative_to_the_json_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SPINDLE_TEST_A", "SPINDLE_TEST_B", "SPINDLE_TEST_C"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPINDLE_TEST_C", "kept")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / ".env").write_text(
        '# comment\nexport SPINDLE_TEST_A="quoted # not a comment"\nSPINDLE_TEST_B=plain # note\nSPINDLE_TEST_C=lost\n'
    )
    path = write_project(
        tmp_path, {"env": "./conf/.env", "graphs": {"g": "./graphs/mygraphs.py:compiled"}}
    )
    load_registry(path)
    assert os.environ["SPINDLE_TEST_A"] == "quoted # not a comment"
    assert os.environ["SPINDLE_TEST_B"] == "plain"
    assert os.environ["SPINDLE_TEST_C"] == "kept"
    monkeypatch.delenv("SPINDLE_TEST_A")
    monkeypatch.delenv("SPINDLE_TEST_B")


def test_parse_dotenv_handles_quotes_and_blank_lines() -> None:
    assert parse_dotenv("\nA=1\nB='two words'\nC=\"x\\ny\"\nnot a pair\n =x\n") == {
        "A": "1",
        "B": "two words",
        "C": "x\ny",
    }


async def test_aget_graph_returns_a_copy_with_the_checkpointer(
    tmp_path: Path, settings: Any
) -> None:
    path = write_project(tmp_path, {"graphs": {"g": "./graphs/mygraphs.py:compiled"}})
    settings.LANGGRAPH_CONFIG = str(path)
    shared = load_registry()["g"].graph
    saver = InMemorySaver()
    graph = await aget_graph("g", checkpointer=saver)
    again = get_graph("g")
    assert graph is not shared and again is not shared
    assert graph.checkpointer is saver
    assert shared.checkpointer is None and again.checkpointer is None
    result = await graph.ainvoke(
        {"messages": [("human", "hi")]}, {"configurable": {"thread_id": "t"}}
    )
    assert result["messages"][-1].content == "from {label}"
    assert (await graph.aget_state({"configurable": {"thread_id": "t"}})).values == result


@pytest.mark.parametrize("attr", ["factory", "async_factory", "no_arg_factory"])
async def test_factories_are_called_on_every_get(tmp_path: Path, settings: Any, attr: str) -> None:
    settings.LANGGRAPH_CONFIG = str(
        write_project(tmp_path, {"graphs": {"g": f"./graphs/mygraphs.py:{attr}"}})
    )
    saver = InMemorySaver()
    first = await aget_graph("g", config={"configurable": {"label": "one"}}, checkpointer=saver)
    second = get_graph("g", config={"configurable": {"label": "two"}}, checkpointer=saver)
    assert isinstance(first, Pregel) and isinstance(second, Pregel)
    assert first is not second
    assert first.checkpointer is saver and second.checkpointer is saver
    if attr == "factory":
        assert (first.name, second.name) == ("one", "two")


def test_sync_get_graph_runs_an_async_factory_inside_a_running_loop(
    tmp_path: Path, settings: Any
) -> None:
    import asyncio

    settings.LANGGRAPH_CONFIG = str(
        write_project(tmp_path, {"graphs": {"g": "./graphs/mygraphs.py:async_factory"}})
    )

    async def inside_loop() -> Pregel:
        return get_graph("g")

    assert isinstance(asyncio.run(inside_loop()), Pregel)


async def test_factory_returning_something_else_is_a_registry_error(
    tmp_path: Path, settings: Any
) -> None:
    settings.LANGGRAPH_CONFIG = str(
        write_project(tmp_path, {"graphs": {"g": "./graphs/mygraphs.py:bad_factory"}})
    )
    with pytest.raises(GraphRegistryError, match=r"Graph 'g' .*factory returned a str"):
        await aget_graph("g")


def test_unknown_graph_id_is_not_found(tmp_path: Path, settings: Any) -> None:
    settings.LANGGRAPH_CONFIG = str(
        write_project(tmp_path, {"graphs": {"a": "./graphs/mygraphs.py:compiled"}})
    )
    with pytest.raises(GraphNotFound) as caught:
        get_graph("nope")
    assert isinstance(caught.value, NotFound)
    assert caught.value.detail == "Graph 'nope' not found. Expected one of: ['a']"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "./graphs/missing.py:graph",
            r"Graph 'broken' in .*langgraph\.json: file .*missing\.py not found",
        ),
        (
            "./graphs/mygraphs.py:nothing",
            r"Graph 'broken' in .*: .*mygraphs\.py has no attribute 'nothing'",
        ),
        (
            "./graphs/mygraphs.py:not_a_graph",
            r"Graph 'broken' in .*: .*mygraphs\.py:not_a_graph is a int, not a compiled graph",
        ),
        (
            "./graphs/mygraphs.py",
            r"Graph 'broken' in .*: '\./graphs/mygraphs\.py' is not of the form",
        ),
        ("./graphs/mygraphs.py:", r"Graph 'broken' in .*: .* does not name an attribute"),
        (
            "no_such_pkg_xyz.module:graph",
            r"Graph 'broken' in .*: cannot import module 'no_such_pkg_xyz\.module'",
        ),
        (
            "./graphs/syntax_error.py:graph",
            r"Graph 'broken': importing .*syntax_error\.py failed: SyntaxError",
        ),
    ],
)
def test_broken_entries_name_the_graph_and_the_path(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = write_project(
        tmp_path, {"graphs": {"fine": "./graphs/mygraphs.py:compiled", "broken": entry}}
    )
    (tmp_path / "graphs" / "syntax_error.py").write_text("def broken(:\n")
    with pytest.raises(GraphRegistryError, match=message):
        load_registry(path)
    if "syntax_error" in entry:
        assert "spindle_graph_broken" not in sys.modules  # no half-imported module left behind


def test_a_failed_load_is_not_cached(tmp_path: Path) -> None:
    path = write_project(tmp_path, {"graphs": {"g": "./graphs/late.py:compiled"}})
    with pytest.raises(GraphRegistryError):
        load_registry(path)
    (tmp_path / "graphs" / "late.py").write_text(GRAPH_MODULE)
    assert list(load_registry(path)) == ["g"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"Graph registry .*langgraph\.json is not valid JSON"),
        ("[]", r"Graph registry .*langgraph\.json must hold a JSON object"),
        ('{"graphs": {}}', r"must have a non-empty \"graphs\" object"),
        (
            '{"graphs": {"g": "./graphs/mygraphs.py:compiled"}, "dependencies": "."}',
            r"\"dependencies\" must be a list",
        ),
        (
            '{"graphs": {"g": "./graphs/mygraphs.py:compiled"}, "dependencies": ["./nowhere"]}',
            r"dependency './nowhere' is not a folder",
        ),
        (
            '{"graphs": {"g": "./graphs/mygraphs.py:compiled"}, "env": "./missing.env"}',
            r"env file './missing.env' cannot be read",
        ),
        (
            '{"graphs": {"g": "./graphs/mygraphs.py:compiled"}, "env": 3}',
            r"\"env\" must be an object or a file path",
        ),
    ],
)
def test_broken_files_name_the_path(tmp_path: Path, content: str, message: str) -> None:
    path = write_project(tmp_path, {})
    path.write_text(content)
    with pytest.raises(GraphRegistryError, match=message):
        load_registry(path)


def test_missing_registry_file_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(GraphRegistryError, match=r"Graph registry .*nothing\.json not found"):
        load_registry(tmp_path / "nothing.json")


def test_registry_error_is_improperly_configured() -> None:
    from django.core.exceptions import ImproperlyConfigured

    assert issubclass(GraphRegistryError, ImproperlyConfigured)
