"""Optional check of Notion request bodies against the OpenAPI descriptions kept in tests/openapi."""

# The descriptions are hand-maintained subsets (makenotion/notion-mcp-server) with a few schemas that
# contradict the documented API; `_errata` corrects exactly those, so that valid requests pass and the
# rest of each schema still applies.

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

from reconcile.sandbox.notion_errors import validation
from reconcile.sandbox.notion_render import is_new

SPEC_FILES = {"2022-06-28": "notion-openapi-2022-06-28.json", "2025-09-03": "notion-openapi-2025-09-03.json"}
_PARENT = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "database_id": {"type": "string"},
        "data_source_id": {"type": "string"},
        "page_id": {"type": "string"},
    },
    "anyOf": [{"required": ["database_id"]}, {"required": ["data_source_id"]}, {"required": ["page_id"]}],
}
_SORT = {
    "type": "object",
    "required": ["direction"],
    "properties": {
        "property": {"type": "string"},
        "timestamp": {"enum": ["created_time", "last_edited_time"]},
        "direction": {"enum": ["ascending", "descending"]},
    },
    "anyOf": [{"required": ["property"]}, {"required": ["timestamp"]}],
}
_QUERY_PATHS = {
    "2022-06-28": "/v1/databases/{database_id}/query",
    "2025-09-03": "/v1/data_sources/{data_source_id}/query",
}


def default_spec_dir() -> Path:
    """tests/openapi of the repository this package lives in."""
    return Path(__file__).resolve().parents[2] / "tests" / "openapi"


class RequestValidator:
    """Validates request bodies of the operations that have a request schema; raises validation_error."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory or default_spec_dir()
        missing = [name for name in SPEC_FILES.values() if not (self._dir / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"validate_requests=True needs {', '.join(missing)} in {self._dir} "
                "(the repository's tests/openapi); not found."
            )
        try:
            from openapi_schema_validator import OAS31Validator
        except ImportError as exc:
            raise RuntimeError(
                "validate_requests=True needs openapi-schema-validator, a test dependency "
                "(pip install -e '.[test]')"
            ) from exc
        self._validator_class = OAS31Validator
        self._specs: dict[str, dict[str, Any]] = {}
        self._cache: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def check(self, version: str, method: str, template: str, body: Any) -> None:
        """Raise a 400 validation_error when the body does not match the operation's request schema."""
        family = "2025-09-03" if is_new(version) else "2022-06-28"
        validator = self._validator(family, method.lower(), template)
        if validator is None:
            return
        from jsonschema.exceptions import best_match

        error = best_match(validator.iter_errors(body))
        if error is not None:
            where = "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            raise validation(
                f"body failed validation: {where}: {error.message} (OpenAPI request schema of "
                f"{method.upper()} {template} in {SPEC_FILES[family]})"
            )

    def _validator(self, family: str, method: str, template: str) -> Any:
        key = (family, method, template)
        with self._lock:
            if key not in self._cache:
                spec = self._spec(family)
                schema = _body_schema(spec, template, method)
                self._cache[key] = (
                    None
                    if schema is None
                    else self._validator_class({**schema, "components": spec.get("components", {})})
                )
            return self._cache[key]

    def _spec(self, family: str) -> dict[str, Any]:
        if family not in self._specs:
            raw = json.loads((self._dir / SPEC_FILES[family]).read_text(encoding="utf-8"))
            self._specs[family] = _errata(raw, family)
        return self._specs[family]


def _body_schema(spec: dict[str, Any], template: str, method: str) -> dict[str, Any] | None:
    operation = spec.get("paths", {}).get(template, {}).get(method, {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return content.get("schema")


def _errata(spec: dict[str, Any], family: str) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    create = _body_schema(spec, "/v1/pages", "post") or {"properties": {}}
    update = _body_schema(spec, "/v1/pages/{page_id}", "patch") or {"properties": {}}
    for schema in (create, update):
        # Both files allow only a `title` value (page-parent pages); database pages carry any property.
        schema["properties"]["properties"] = {"type": "object", "additionalProperties": {"type": "object"}}
        # Icons and covers are objects (emoji / external file), not JSON strings; null clears them.
        schema["properties"]["icon"] = {"type": ["object", "null"]}
        schema["properties"]["cover"] = {"type": ["object", "null"]}
    # Blocks are objects; the 2022 file's parent admits only page_id, the 2025 file's lacks data_source_id.
    create["properties"]["children"] = {"type": "array", "items": {"type": "object"}}
    create["properties"]["parent"] = _PARENT
    # Sorts may be on a timestamp instead of a property (documented; both files require `property`).
    query = _body_schema(spec, _QUERY_PATHS[family], "post")
    if query is not None:
        query["properties"]["sorts"] = {"type": "array", "items": _SORT}
    schemas = spec.get("components", {}).get("schemas", {})
    if "sortObject" in schemas:
        schemas["sortObject"] = _SORT
    return spec
