"""Helpers for the sandbox's own tests: HTTP clients, request bodies, OpenAPI validators."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import requests
from openapi_schema_validator import OAS30Validator, OAS31Validator

from reconcile.sandbox import Sandbox

OPENAPI = Path(__file__).resolve().parents[1] / "openapi"


class Api:
    """A requests.Session bound to one base URL."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(headers)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self._url(path), timeout=5, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(self._url(path), json=json, timeout=kwargs.pop("timeout", 5), **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.patch(self._url(path), json=json, timeout=5, **kwargs)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path


def github_client(sandbox: Sandbox, token: str | None = None) -> Api:
    return Api(
        sandbox.github_url,
        {
            "Authorization": f"Bearer {token or sandbox.github_token}",
            "User-Agent": "reconcile-tests",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )


def notion_client(sandbox: Sandbox, version: str = "2022-06-28", token: str | None = None) -> Api:
    return Api(
        sandbox.notion_url,
        {"Authorization": f"Bearer {token or sandbox.notion_token}", "Notion-Version": version},
    )


WORK_SCHEMA: dict[str, Any] = {
    "Name": {"title": {}},
    "GitHub URL": {"url": {}},
    "Status": {"select": {"options": [{"name": "Backlog"}, {"name": "Done"}]}},
    "Stage": {"status": {"options": [{"name": "Todo"}, {"name": "Doing"}, {"name": "Shipped"}]}},
    "Labels": {"multi_select": {"options": [{"name": "bug"}]}},
    "Notes": {"rich_text": {}},
    "Due": {"date": {}},
    "Points": {"number": {}},
    "Flag": {"checkbox": {}},
}


def title(text: str) -> dict[str, Any]:
    return {"title": [{"text": {"content": text}}]}


def page_body(database_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"parent": {"database_id": database_id}, "properties": {"Name": title(name), **extra}}


def allow_null_in_nullable_enums(node: Any) -> None:
    # OAS 3.0 validators reject null for `nullable: true` + `enum` unless the enum lists null;
    # GitHub's description relies on the looser reading (state_reason is null on open issues).
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            allow_null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            allow_null_in_nullable_enums(value)


def github_validator(spec: dict[str, Any], schema_name: str) -> OAS30Validator:
    return OAS30Validator({"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]})


def notion_response_validator(spec: dict[str, Any], path: str, method: str) -> OAS31Validator:
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return OAS31Validator({**content["schema"], "components": spec["components"]})


def load_github_spec() -> dict[str, Any]:
    with gzip.open(OPENAPI / "github-openapi.json.gz", "rt", encoding="utf-8") as handle:
        spec = json.load(handle)
    allow_null_in_nullable_enums(spec)
    return spec


def load_notion_spec() -> dict[str, Any]:
    return json.loads((OPENAPI / "notion-openapi-2025-09-03.json").read_text(encoding="utf-8"))
