"""The project file (langgraph.json) as settings read it: its CORS and auth blocks and the keys Spindle does not serve yet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Top-level keys Spindle acts on; "$schema" only helps editors.
SUPPORTED_KEYS = {
    "graphs",
    "dependencies",
    "env",
    "http",
    "store",
    "checkpointer",
    "auth",
    "$schema",
}
# Keys `langgraph build` reads to make a container image: Spindle serves from the
# environment it runs in, so they have no effect here.
BUILD_KEYS = {
    "python_version",
    "node_version",
    "pip_config_file",
    "pip_installer",
    "dockerfile_lines",
    "base_image",
    "image_distro",
    "keep_pkg_tools",
    "api_version",
}
SUPPORTED_HTTP_KEYS = {"cors"}
CORS_KEYS = {
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "allow_credentials",
    "allow_origin_regex",
    "expose_headers",
    "max_age",
}


def read_document(path: str | Path) -> dict[str, Any] | None:
    """langgraph.json as a dict; None when the file is missing (the registry says so when a
    graph is needed). A file that is not a JSON object is an ImproperlyConfigured."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"Cannot read graph registry {path}: {exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"Graph registry {path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ImproperlyConfigured(f"Graph registry {path} must hold a JSON object")
    return document


def unsupported_keys(document: dict[str, Any]) -> list[str]:
    """One warning for each key of the document that Spindle ignores."""
    warnings = []
    for key in document:
        if key in SUPPORTED_KEYS:
            continue
        if key in BUILD_KEYS:
            warnings.append(
                f'langgraph.json: "{key}" is an image build setting; Spindle ignores it'
            )
        else:
            warnings.append(
                f'langgraph.json: "{key}" is not supported by Spindle yet and is ignored'
            )
    http = document.get("http")
    if isinstance(http, dict):
        for key in http:
            if key not in SUPPORTED_HTTP_KEYS:
                warnings.append(
                    f'langgraph.json: "http.{key}" is not supported by Spindle yet and is ignored'
                )
        cors = http.get("cors")
        if isinstance(cors, dict):
            for key in cors:
                if key not in CORS_KEYS:
                    warnings.append(
                        f'langgraph.json: "http.cors.{key}" is not a CORS setting and is ignored'
                    )
    return warnings


def cors_settings(document: dict[str, Any] | None, where: str) -> dict[str, Any]:
    """django-cors-headers settings from `http.cors` (the names Starlette's CORSMiddleware
    and the official server use); {} when the block is absent: no cross-origin access."""
    http = (document or {}).get("http")
    if http is None:
        return {}
    if not isinstance(http, dict):
        raise ImproperlyConfigured(f'{where}: "http" must be an object')
    cors = http.get("cors")
    if cors is None:
        return {}
    if not isinstance(cors, dict):
        raise ImproperlyConfigured(f'{where}: "http.cors" must be an object')

    def strings(key: str) -> list[str] | None:
        value = cors.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ImproperlyConfigured(f'{where}: "http.cors.{key}" must be a list of strings')
        return value

    result: dict[str, Any] = {}
    origins = strings("allow_origins") or []
    if "*" in origins:
        result["CORS_ALLOW_ALL_ORIGINS"] = True
    else:
        for origin in origins:
            if "://" not in origin:
                raise ImproperlyConfigured(
                    f'{where}: "http.cors.allow_origins" entry {origin!r} needs a scheme, e.g. https://{origin}'
                )
        result["CORS_ALLOWED_ORIGINS"] = [o.rstrip("/") for o in origins]
    regex = cors.get("allow_origin_regex")
    if regex is not None:
        if not isinstance(regex, str):
            raise ImproperlyConfigured(f'{where}: "http.cors.allow_origin_regex" must be a string')
        result["CORS_ALLOWED_ORIGIN_REGEXES"] = [regex]
    methods = strings("allow_methods")
    if methods is not None:
        result["CORS_ALLOW_METHODS"] = (
            ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
            if "*" in methods
            else [m.upper() for m in methods]
        )
    headers = strings("allow_headers")
    if headers is not None:
        result["CORS_ALLOW_HEADERS"] = [h.lower() for h in headers]
    expose = strings("expose_headers")
    if expose is not None:
        result["CORS_EXPOSE_HEADERS"] = expose
    credentials = cors.get("allow_credentials")
    if credentials is not None:
        if not isinstance(credentials, bool):
            raise ImproperlyConfigured(
                f'{where}: "http.cors.allow_credentials" must be true or false'
            )
        result["CORS_ALLOW_CREDENTIALS"] = credentials
    max_age = cors.get("max_age")
    if max_age is not None:
        if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
            raise ImproperlyConfigured(
                f'{where}: "http.cors.max_age" must be a whole number of seconds'
            )
        result["CORS_PREFLIGHT_MAX_AGE"] = max_age
    return result


def auth_path(document: dict[str, Any] | None, where: str) -> str | None:
    """The custom auth object named by "auth.path" ("./auth.py:auth" or "module:auth"), a
    file path made absolute against the folder of langgraph.json; None without one."""
    auth = (document or {}).get("auth")
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise ImproperlyConfigured(f'{where}: "auth" must be an object')
    path = auth.get("path")
    if path is None:
        return None
    if not isinstance(path, str) or ":" not in path:
        raise ImproperlyConfigured(
            f'{where}: "auth.path" must look like "./auth.py:auth" or "module:auth"'
        )
    module, name = path.rsplit(":", 1)
    if "/" in module or module.endswith(".py"):
        module = str((Path(where).expanduser().resolve().parent / module).resolve())
    return f"{module}:{name}"
