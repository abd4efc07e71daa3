"""The graph registry: reads langgraph.json, imports the graphs and hands out compiled copies."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import sys
import threading
import typing
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, cast, get_args, get_origin

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from langgraph.channels.base import BaseChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph_sdk.runtime import AccessContext, ServerRuntime, _ExecutionRuntime, _ReadRuntime

from access.context import current_caller
from access.users import AuthUser
from core.errors import NotFound
from store.backend import DjangoStore

logger = logging.getLogger(__name__)

# The namespace the official server derives system assistant ids from.
ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GraphRegistryError(ImproperlyConfigured):
    """langgraph.json, or one of the graphs it names, cannot be loaded."""


class GraphNotFound(NotFound):
    """A graph id that langgraph.json does not register."""

    def __init__(self, graph_id: str, known: list[str]) -> None:
        super().__init__(f"Graph '{graph_id}' not found. Expected one of: {known!r}")
        self.graph_id = graph_id


@dataclass(frozen=True)
class GraphSpec:
    """One entry of langgraph.json, imported.

    `graph` holds the compiled graph (a StateGraph is compiled once at load) or,
    for a factory, the callable that builds it from a RunnableConfig.
    """

    graph_id: str
    source: str
    config_path: str
    file_path: str | None
    module: str | None
    attr: str
    graph: Pregel | None = None
    factory: Callable[..., Any] | None = None
    description: str | None = None

    @property
    def location(self) -> str:
        return f"{self.file_path or self.module}:{self.attr}"


_cache: dict[str, dict[str, GraphSpec]] = {}
_lock = threading.RLock()


def default_assistant_id(graph_id: str) -> uuid.UUID:
    """The stable id of a graph's system assistant, as the official server derives it."""
    return uuid.uuid5(ASSISTANT_NAMESPACE, graph_id)


def reset_registry() -> None:
    """Forget every loaded registry (tests load several langgraph.json files)."""
    with _lock:
        _cache.clear()


def _config_path(path: str | os.PathLike[str] | None) -> Path:
    return _resolved(os.fspath(path if path is not None else settings.LANGGRAPH_CONFIG))


@functools.lru_cache(maxsize=32)
def _resolved(raw: str) -> Path:
    # Resolving touches the file system; every run looks its graph up.
    return Path(raw).expanduser().resolve()


def load_registry(path: str | os.PathLike[str] | None = None) -> dict[str, GraphSpec]:
    """Parse langgraph.json at `path` (default settings.LANGGRAPH_CONFIG) and import its graphs.

    The result is cached per file; a failed load is not cached, so fixing the file and
    calling again works.
    """
    config_path = _config_path(path)
    key = str(config_path)
    with _lock:
        registry = _cache.get(key)
        if registry is None:
            registry = _load(config_path)
            _cache[key] = registry
        return registry


def graph_ids() -> list[str]:
    """The registered graph ids, in the order langgraph.json lists them."""
    return list(load_registry())


def graph_spec(graph_id: str) -> GraphSpec:
    """The registry entry of `graph_id`; GraphNotFound (404) if it is not registered."""
    registry = load_registry()
    spec = registry.get(graph_id)
    if spec is None:
        raise GraphNotFound(graph_id, list(registry))
    return spec


async def aget_graph(
    graph_id: str,
    *,
    config: Mapping[str, Any] | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    access_context: AccessContext = "assistants.read",
    context: Any = None,
) -> Pregel:
    """A compiled graph for `graph_id` with `checkpointer` and the store attached.

    Static graphs are copied, so the shared instance is never mutated; factories are
    called on every call, with `config` and/or a `ServerRuntime` (its `access_context`
    says why, `store` is the store, and `context` the run's, when executing).
    """
    spec = graph_spec(graph_id)
    store = store if store is not None else DjangoStore()
    if spec.factory is None:
        return _attach(spec.graph, checkpointer, store)
    value = spec.factory(
        **_factory_kwargs(spec, config, _runtime(access_context, store, context, config))
    )
    if inspect.isawaitable(value):
        value = await value
    return _attach(_as_graph(spec, value, produced=True), checkpointer, store)


def get_graph(
    graph_id: str,
    *,
    config: Mapping[str, Any] | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    access_context: AccessContext = "assistants.read",
    context: Any = None,
) -> Pregel:
    """The synchronous twin of aget_graph; an async factory is run on its own event loop."""
    spec = graph_spec(graph_id)
    store = store if store is not None else DjangoStore()
    if spec.factory is None:
        return _attach(spec.graph, checkpointer, store)
    value = spec.factory(
        **_factory_kwargs(spec, config, _runtime(access_context, store, context, config))
    )
    if inspect.isawaitable(value):
        value = _run_coroutine(value)
    return _attach(_as_graph(spec, value, produced=True), checkpointer, store)


# --- loading ----------------------------------------------------------------------


def _load(config_path: Path) -> dict[str, GraphSpec]:
    where = str(config_path)
    if not config_path.is_file():
        raise GraphRegistryError(f"Graph registry {where} not found (set LANGGRAPH_CONFIG)")
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphRegistryError(f"Cannot read graph registry {where}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise GraphRegistryError(f"Graph registry {where} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise GraphRegistryError(f"Graph registry {where} must hold a JSON object")

    base = config_path.parent
    _add_dependencies(document.get("dependencies", []), base, where)
    _load_env(document.get("env"), base, where)

    graphs = document.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        raise GraphRegistryError(f'Graph registry {where} must have a non-empty "graphs" object')
    registry: dict[str, GraphSpec] = {}
    for graph_id, entry in graphs.items():
        registry[graph_id] = _load_entry(graph_id, entry, base, where)
    logger.info("Loaded %d graph(s) from %s: %s", len(registry), where, ", ".join(registry))
    return registry


def _add_dependencies(dependencies: Any, base: Path, where: str) -> None:
    if not isinstance(dependencies, list):
        raise GraphRegistryError(f'Graph registry {where}: "dependencies" must be a list')
    for dependency in dependencies:
        if not isinstance(dependency, str):
            raise GraphRegistryError(
                f"Graph registry {where}: dependency {dependency!r} is not a string"
            )
        # Entries that are not paths are pip requirements ("langchain_openai"): installing
        # them is the deployment's job, not the server's.
        if not (dependency.startswith((".", "/", "~")) or os.sep in dependency):
            continue
        folder = (base / dependency).expanduser().resolve()
        if not folder.is_dir():
            raise GraphRegistryError(
                f"Graph registry {where}: dependency {dependency!r} is not a folder ({folder})"
            )
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def _load_env(env: Any, base: Path, where: str) -> None:
    if env is None:
        return
    if isinstance(env, dict):
        values = {str(k): "" if v is None else str(v) for k, v in env.items()}
    elif isinstance(env, str):
        env_path = (base / env).expanduser().resolve()
        try:
            values = parse_dotenv(env_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise GraphRegistryError(
                f"Graph registry {where}: env file {env!r} cannot be read ({env_path}): {exc}"
            ) from exc
    else:
        raise GraphRegistryError(f'Graph registry {where}: "env" must be an object or a file path')
    for name, value in values.items():
        # The real environment wins, so a deployment can override the project's defaults.
        os.environ.setdefault(name, value)


def parse_dotenv(text: str) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file: `export`, comments and quotes as python-dotenv reads them."""
    values: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        elif len(value) >= 1 and value[0] in "'\"" and value[0] in value[1:]:
            # A quoted value followed by a comment: VALUE="x" # note
            value = value[1 : value.index(value[0], 1)]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[name] = value
    return values


def _load_entry(graph_id: str, entry: Any, base: Path, where: str) -> GraphSpec:
    description = None
    if isinstance(entry, dict):
        description = entry.get("description")
        entry = entry.get("path")
    if not isinstance(entry, str) or ":" not in entry:
        raise GraphRegistryError(
            f"Graph '{graph_id}' in {where}: {entry!r} is not of the form "
            "'./path/to/file.py:attribute' or 'package.module:attribute'"
        )
    target, attr = entry.rsplit(":", 1)
    attr = attr.strip()
    if not target or not _IDENTIFIER.match(attr):
        raise GraphRegistryError(
            f"Graph '{graph_id}' in {where}: {entry!r} does not name an attribute after ':'"
        )

    file_path: Path | None = None
    if target.endswith(".py") or "/" in target or os.sep in target:
        file_path = (base / target).expanduser().resolve()
        if not file_path.is_file():
            raise GraphRegistryError(f"Graph '{graph_id}' in {where}: file {file_path} not found")
        module = _import_file(graph_id, file_path)
    else:
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise GraphRegistryError(
                f"Graph '{graph_id}' in {where}: cannot import module '{target}': {exc!r}"
            ) from exc

    if not hasattr(module, attr):
        raise GraphRegistryError(
            f"Graph '{graph_id}' in {where}: {file_path or target} has no attribute '{attr}'"
        )
    value = getattr(module, attr)
    spec = GraphSpec(
        graph_id=graph_id,
        source=entry,
        config_path=where,
        file_path=str(file_path) if file_path else None,
        module=module.__name__,
        attr=attr,
        description=description if isinstance(description, str) else None,
    )
    if isinstance(value, Pregel | StateGraph):
        return replace(spec, graph=_as_graph(spec, value, produced=False))
    if callable(value) and not isinstance(value, type):
        return replace(spec, factory=value)
    raise GraphRegistryError(
        f"Graph '{graph_id}' in {where}: {spec.location} is a {type(value).__name__}, not a "
        "compiled graph, a StateGraph or a factory function"
    )


def _import_file(graph_id: str, file_path: Path) -> Any:
    """Import a graph file under its dotted name when it sits in a sys.path folder, so a
    test or another module importing it gets the same module object; otherwise under a
    private name."""
    try:
        dotted = _dotted_name(file_path)
        if dotted is not None:
            return importlib.import_module(dotted)
        name = "spindle_graph_" + re.sub(r"\W", "_", graph_id)
        module_spec = importlib.util.spec_from_file_location(name, file_path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"no loader for {file_path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
    except Exception as exc:
        raise GraphRegistryError(
            f"Graph '{graph_id}': importing {file_path} failed: {exc!r}"
        ) from exc


def _dotted_name(file_path: Path) -> str | None:
    for entry in sys.path:
        if not entry:
            continue
        try:
            relative = file_path.relative_to(Path(entry).resolve())
        except (ValueError, OSError):
            continue
        parts = [*relative.parent.parts, relative.stem]
        if not all(_IDENTIFIER.match(p) for p in parts):
            continue
        dotted = ".".join(parts)
        try:
            found = importlib.util.find_spec(dotted)
        except (ImportError, ValueError):
            continue
        # Another installed package may own the same dotted name: only use it if it is
        # really this file.
        if found is not None and found.origin and Path(found.origin).resolve() == file_path:
            return dotted
    return None


# --- building ---------------------------------------------------------------------


def _runtime(
    access_context: AccessContext, store: BaseStore, context: Any, config: Mapping[str, Any] | None
) -> Any:
    """The ServerRuntime the official server hands a factory: an execution runtime (with
    the run's context) for threads.create_run, a read runtime otherwise; its user is the
    run's creator (in its config) or the request's caller, None without custom auth."""
    user = _runtime_user(config)
    if access_context == "threads.create_run":
        return _ExecutionRuntime(
            access_context=access_context, user=user, store=store, context=context
        )
    return _ReadRuntime(access_context=access_context, user=user, store=store)


def _runtime_user(config: Mapping[str, Any] | None) -> AuthUser | None:
    stored = ((config or {}).get("configurable") or {}).get("langgraph_auth_user")
    if isinstance(stored, dict) and "identity" in stored:
        return AuthUser(stored)
    caller = current_caller()
    return caller.user if caller is not None else None


def _is_runtime_annotation(annotation: Any) -> bool:
    if annotation is ServerRuntime or get_origin(annotation) is ServerRuntime:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, _ExecutionRuntime | _ReadRuntime)
    if isinstance(annotation, str):  # an annotation the hints could not resolve
        return annotation.split("[", 1)[0].strip() in (
            "ServerRuntime",
            "langgraph_sdk.runtime.ServerRuntime",
        )
    args = get_args(annotation)
    return bool(args) and get_origin(annotation) is Annotated and _is_runtime_annotation(args[0])


def _factory_kwargs(
    spec: GraphSpec, config: Mapping[str, Any] | None, runtime: Any
) -> dict[str, Any]:
    """The arguments of a factory call, as the official server classifies factories: none;
    one (the runtime if annotated ServerRuntime, else the config); or two (the one
    annotated ServerRuntime gets the runtime, the other the config; unannotated, the
    second gets the runtime, as in `make_graph(config, runtime)`)."""
    assert spec.factory is not None
    try:
        signature = inspect.signature(spec.factory)
    except (TypeError, ValueError):
        return {}
    parameters = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind == p.POSITIONAL_ONLY for p in parameters):
        raise GraphRegistryError(
            f"Graph '{spec.graph_id}': a factory's parameters must not be positional-only"
        )
    try:
        hints = typing.get_type_hints(spec.factory, localns={"ServerRuntime": ServerRuntime})
    except Exception:
        hints = {}
    is_runtime = [_is_runtime_annotation(hints.get(p.name, p.annotation)) for p in parameters]
    if not parameters:
        return {}
    if len(parameters) == 1:
        return {parameters[0].name: runtime if is_runtime[0] else _runnable_config(config)}
    if len(parameters) == 2:
        runtime_at = is_runtime.index(True) if is_runtime.count(True) == 1 else 1
        return {
            parameters[runtime_at].name: runtime,
            parameters[1 - runtime_at].name: _runnable_config(config),
        }
    raise GraphRegistryError(
        f"Graph '{spec.graph_id}': a factory takes at most two arguments (config, runtime); "
        f"{spec.location} takes {[p.name for p in parameters]}"
    )


def _runnable_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    plain = dict(config or {})
    plain["configurable"] = dict(plain.get("configurable") or {})
    return plain


def _as_graph(spec: GraphSpec, value: Any, *, produced: bool) -> Pregel:
    if isinstance(value, StateGraph):
        try:
            value = value.compile()
        except Exception as exc:
            raise GraphRegistryError(
                f"Graph '{spec.graph_id}' ({spec.location}): compiling its StateGraph failed: {exc!r}"
            ) from exc
    if isinstance(value, Pregel):
        return value
    what = "its factory returned" if produced else "it is"
    raise GraphRegistryError(
        f"Graph '{spec.graph_id}' ({spec.location}): {what} a {type(value).__name__}, "
        "not a compiled graph or a StateGraph"
    )


def _attach(
    graph: Pregel | None, checkpointer: BaseCheckpointSaver | None, store: BaseStore
) -> Pregel:
    assert graph is not None
    return graph.copy(update={"checkpointer": checkpointer, "store": store})


def _run_coroutine(awaitable: Any) -> Any:
    async def _await() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await())
    # Called from inside an event loop (e.g. a sync helper in an async view): run the
    # factory on a loop of its own rather than blocking this one on itself.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _await()).result()


# --- introspection ----------------------------------------------------------------


def graph_drawing(graph: Pregel, *, xray: bool | int = False) -> dict[str, Any]:
    """{nodes, edges} of the graph, as GET /assistants/{id}/graph returns it."""
    from core.json import to_jsonable

    return to_jsonable(graph.get_graph(xray=xray).to_json())


def _json_schema(build: Callable[[], Any]) -> dict[str, Any] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schema = build()
        except Exception:
            logger.debug("No JSON schema for a graph", exc_info=True)
            return None
    return schema if isinstance(schema, dict) else None


def _state_schema(graph: Pregel) -> dict[str, Any]:
    from pydantic import TypeAdapter, create_model

    fields: dict[str, Any] = {}
    channels = graph.stream_channels_list
    for name in channels:
        channel = graph.channels[name]
        if not isinstance(channel, BaseChannel):  # a managed value: not part of the state
            continue
        update_type = channel.UpdateType
        try:
            TypeAdapter(update_type).json_schema()
            fields[name] = (update_type, None)
        except Exception:
            fields[name] = (Any, None)
    return create_model(graph.get_name("State"), **fields).model_json_schema()


def graph_schemas(graph_id: str, graph: Pregel) -> dict[str, Any]:
    """The GraphSchema of langgraph_sdk: input, output, state, config and context schemas."""
    return {
        "graph_id": graph_id,
        "input_schema": _json_schema(graph.get_input_jsonschema),
        "output_schema": _json_schema(graph.get_output_jsonschema),
        "state_schema": _json_schema(lambda: _state_schema(graph)),
        "config_schema": _json_schema(lambda: graph.config_schema().model_json_schema()),
        "context_schema": _json_schema(graph.get_context_jsonschema),
    }


def graph_subgraphs(
    graph_id: str, graph: Pregel, *, namespace: str | None = None, recurse: bool = False
) -> dict[str, dict[str, Any]]:
    """{namespace: GraphSchema} of the graph's subgraphs."""
    return {
        # StateGraph's subgraphs are compiled graphs (Pregel); the API types them by protocol.
        ns: graph_schemas(graph_id, cast(Pregel, subgraph))
        for ns, subgraph in graph.get_subgraphs(namespace=namespace, recurse=recurse)
    }
