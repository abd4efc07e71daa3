"""langgraph.json as settings read it: CORS from "http.cors", a warning per unsupported key."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.project import cors_settings, unsupported_keys


def test_no_http_cors_allows_no_origin() -> None:
    assert cors_settings({"graphs": {}}, "langgraph.json") == {}
    assert cors_settings(None, "langgraph.json") == {}


def test_http_cors_maps_to_django_cors_headers() -> None:
    document = {
        "http": {
            "cors": {
                "allow_origins": ["https://smith.langchain.com/"],
                "allow_methods": ["get", "post"],
                "allow_headers": ["Content-Type", "X-Api-Key"],
                "allow_credentials": True,
                "allow_origin_regex": r"^https://.*\.example\.com$",
                "expose_headers": ["X-Run"],
                "max_age": 600,
            }
        }
    }
    assert cors_settings(document, "langgraph.json") == {
        "CORS_ALLOWED_ORIGINS": ["https://smith.langchain.com"],
        "CORS_ALLOW_METHODS": ["GET", "POST"],
        "CORS_ALLOW_HEADERS": ["content-type", "x-api-key"],
        "CORS_ALLOW_CREDENTIALS": True,
        "CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://.*\.example\.com$"],
        "CORS_EXPOSE_HEADERS": ["X-Run"],
        "CORS_PREFLIGHT_MAX_AGE": 600,
    }


def test_a_star_origin_allows_all_and_star_methods_list_them() -> None:
    result = cors_settings(
        {"http": {"cors": {"allow_origins": ["*"], "allow_methods": ["*"]}}}, "x"
    )
    assert result["CORS_ALLOW_ALL_ORIGINS"] is True
    assert set(result["CORS_ALLOW_METHODS"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        ({"allow_origins": "https://a.example"}, 'allow_origins" must be a list of strings'),
        ({"allow_origins": ["a.example"]}, "needs a scheme"),
        ({"allow_credentials": "yes"}, "must be true or false"),
        ({"max_age": -1}, "whole number of seconds"),
        ("everything", '"http.cors" must be an object'),
    ],
)
def test_a_malformed_cors_block_names_the_key(cors: object, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        cors_settings({"http": {"cors": cors}}, "langgraph.json")


def test_one_warning_per_unsupported_key() -> None:
    document = {
        "$schema": "x",
        "graphs": {},
        "dependencies": ["."],
        "env": ".env",
        "auth": {"path": "./auth.py:auth"},
        "store": {},
        "ui": {},
        "python_version": "3.12",
        "http": {"cors": {"allow_origins": [], "allow_everything": True}, "app": "./app.py:app"},
    }
    assert unsupported_keys(document) == [
        'langgraph.json: "ui" is not supported by Spindle yet and is ignored',
        'langgraph.json: "python_version" is an image build setting; Spindle ignores it',
        'langgraph.json: "http.app" is not supported by Spindle yet and is ignored',
        'langgraph.json: "http.cors.allow_everything" is not a CORS setting and is ignored',
    ]
