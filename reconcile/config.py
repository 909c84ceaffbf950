"""Load config.yaml: interpolate ${VAR}, apply environment overrides, validate with key paths and lines."""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from reconcile.errors import ConfigError
from reconcile.mapping import check_template

DEFAULT_PATH = "./config.yaml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEY_PATH = re.compile(r"[a-z_]+(\.[a-z_]+)+")

# Environment variable -> the config key it overrides (CONTRACT §2).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "NOTION_API_KEY": ("notion", "token"),
    "NOTION_DB_ID": ("notion", "database_id"),
    "GITHUB_TOKEN": ("github", "token"),
    "NOTION_API_URL": ("notion", "api_url"),
    "GITHUB_API_URL": ("github", "api_url"),
    "RECONCILE_DATABASE_URL": ("mirror", "url"),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _http_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: Any) -> timedelta:
    """`30s`, `15m`, `2h`, `1d`, or `0` (every run) as a timedelta (CONTRACT §10)."""
    if isinstance(value, timedelta):
        return value
    if value == 0 or (isinstance(value, str) and value.strip() == "0"):
        return timedelta(0)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a duration (30s, 15m, 2h, 1d, or 0)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class GitHubConfig(Strict):
    api_url: HttpUrl = "https://api.github.com"
    token: SecretStr | None = None
    repos: list[str] = Field(min_length=1)
    include: list[Literal["issues", "pull_requests"]] = ["issues", "pull_requests"]
    lookback_minutes: float = Field(5, ge=2)  # CONTRACT §1: overlap by at least two minutes
    timeout_seconds: float = Field(30, gt=0)
    resync_every: Duration = timedelta(days=1)  # a complete listing of each repository this often

    @property
    def kinds(self) -> set[str]:
        """The item kinds `include` asks for, as GitHubItem.kind spells them."""
        return {"issue" if name == "issues" else "pull_request" for name in self.include}

    @field_validator("repos")
    @classmethod
    def _repo_names(cls, repos: list[str]) -> list[str]:
        for repo in repos:
            if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
                raise ValueError(f"{repo!r} is not owner/name")
        return repos


class NotionConfig(Strict):
    api_url: HttpUrl = "https://api.notion.com"
    token: SecretStr | None = None
    database_id: str
    version: Literal["2022-06-28", "2025-09-03"] = "2022-06-28"
    data_source_id: str | None = None
    requests_per_second: float = Field(3, gt=0)
    lookback_minutes: float = Field(5, ge=2)
    timeout_seconds: float = Field(60, gt=0)
    sweep_every: Duration = timedelta(0)  # how often to look for linked pages that left the database
    budget: str | None = None  # boards sharing one integration share its request budget under this name


class MirrorConfig(Strict):
    url: str = "sqlite:///reconcile.db"
    retention: Duration = timedelta(days=90)  # runs, journal and snapshots older than this are pruned
    lock_lease: Duration = timedelta(minutes=2)  # a lock holder silent this long (plus a grace) is taken over

    @field_validator("lock_lease")
    @classmethod
    def _lease_long_enough(cls, lease: timedelta) -> timedelta:
        if lease < timedelta(seconds=3):
            raise ValueError("should be at least 3s (the heartbeat renews it several times per lease)")
        return lease


class HealthConfig(Strict):
    max_age: Duration = timedelta(hours=1)  # `health` fails when the last successful run is older


class Condition(Strict):
    kind: Literal["issue", "pull_request"] | None = None
    state: Literal["open", "closed"] | None = None
    state_reason: str | None = None
    merged: bool | None = None
    draft: bool | None = None
    assigned: bool | None = None
    repo: str | None = None
    labels: list[str] | None = None


class Rule(Strict):
    when: Condition | None = Field(None, alias="if")
    then: Any = None


class PropertySpec(Strict):
    type: Literal[
        "title", "rich_text", "select", "status", "multi_select", "url", "number", "date", "checkbox"
    ]
    value: str | None = None
    rules: list[Rule] | None = None
    labels: dict[str, Any] | None = None
    default: Any = None
    policy: Literal["overwrite", "on_change", "create_only"] = "overwrite"

    @model_validator(mode="after")
    def _one_way(self) -> PropertySpec:
        ways = [name for name in ("value", "rules", "labels") if getattr(self, name) is not None]
        if len(ways) != 1:
            raise ValueError("give exactly one of value, rules or labels")
        if self.default is not None and self.labels is None:
            raise ValueError("default only goes with labels")
        return self

    @field_validator("value")
    @classmethod
    def _known_fields(cls, template: str | None) -> str | None:
        if template is not None:
            check_template(template)
        return template


class MappingConfig(Strict):
    key: str = "GitHub URL"
    properties: dict[str, PropertySpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> MappingConfig:
        if self.key in self.properties:
            raise ValueError(f"{self.key!r} is the key property; it is always set to the item's URL")
        titles = [name for name, spec in self.properties.items() if spec.type == "title"]
        if len(titles) > 1:
            raise ValueError(f"only one title property is possible, found {', '.join(titles)}")
        return self


class StaleConfig(Strict):
    property: str = "Status"
    status: str = "In Progress"
    after_days: float = Field(14, gt=0)
    action: Literal["report", "set_status", "annotate"] = "report"
    set_status: str | None = None
    annotate_property: str | None = None


class ApplyConfig(Strict):
    batch_size: int = Field(25, ge=1, le=1000)
    max_writes_per_run: int = Field(1000, ge=1)
    max_change_ratio: float = Field(0.5, gt=0, le=1)
    on_deleted_page: Literal["recreate", "restore", "ignore"] = "recreate"
    on_orphan: Literal["report", "archive"] = "report"
    on_duplicate: Literal["report", "archive"] = "report"  # extra pages carrying one item's key


class Config(Strict):
    version: Literal[1] = 1
    github: GitHubConfig
    notion: NotionConfig
    mirror: MirrorConfig = MirrorConfig()
    mapping: MappingConfig
    stale: StaleConfig = StaleConfig()
    apply: ApplyConfig = ApplyConfig()
    health: HealthConfig = HealthConfig()

    @model_validator(mode="after")
    def _stale_fits_mapping(self) -> Config:
        stale, props = self.stale, self.mapping.properties
        if stale.action == "set_status":
            if not stale.set_status:
                raise ValueError("stale.set_status: needed when stale.action is set_status")
            spec = props.get(stale.property)
            if spec is not None and spec.policy == "overwrite":
                raise ValueError(
                    f"stale.action: set_status is refused while mapping.properties.{stale.property}.policy "
                    "is overwrite (the two would fight); make it on_change or create_only"
                )
        if stale.action == "annotate":
            if not stale.annotate_property:
                raise ValueError("stale.annotate_property: needed when stale.action is annotate")
            if stale.annotate_property in props or stale.annotate_property == self.mapping.key:
                raise ValueError(f"stale.annotate_property: {stale.annotate_property!r} is a mapped property")
        return self

    def property_type(self, name: str) -> str | None:
        """The Notion type the config gives a property, if it names it."""
        if name == self.mapping.key:
            return "url"
        spec = self.mapping.properties.get(name)
        if spec is not None:
            return spec.type
        if name == self.stale.annotate_property:
            return "rich_text"
        return None


# -- loading -------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, interpolate, override and validate the config; every problem is a ConfigError."""
    env = os.environ if env is None else env
    source = Path(path or env.get("RECONCILE_CONFIG") or DEFAULT_PATH)
    text = _read(source)
    raw, lines = _parse(text, source)
    raw = _interpolate(raw, env, (), lines, source)
    _override(raw, env)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, source)) from None


def mirror_url(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> str:
    """Just the mirror's URL (for `db upgrade`): RECONCILE_DATABASE_URL, else mirror.url, else the default."""
    env = os.environ if env is None else env
    if env.get("RECONCILE_DATABASE_URL"):
        return env["RECONCILE_DATABASE_URL"]
    source = Path(path or env.get("RECONCILE_CONFIG") or DEFAULT_PATH)
    if path is None and not source.exists():
        return MirrorConfig().url
    raw, lines = _parse(_read(source), source)
    mirror = raw.get("mirror") if isinstance(raw.get("mirror"), dict) else {}
    url = _interpolate(mirror.get("url", MirrorConfig().url), env, ("mirror", "url"), lines, source)
    if not isinstance(url, str):
        raise ConfigError(f"{source}: mirror.url: should be a string")
    return url


def config_from_dict(raw: dict[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate an already parsed config (the demo and tests build theirs in code)."""
    env = {} if env is None else env
    raw = _interpolate(raw, env, (), {}, Path("<config>"))
    _override(raw, env)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, {}, Path("<config>"))) from None


def _read(source: Path) -> str:
    try:
        return source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {source} not found (set -c PATH or RECONCILE_CONFIG)") from None
    except OSError as exc:
        raise ConfigError(f"config file {source}: {exc.strerror}") from None


def _parse(text: str, source: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys, not {type(raw).__name__}")
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return raw, lines


def _index_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    """Record the line of every key and item, by its path, for error messages."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines)


def _interpolate(
    value: Any, env: Mapping[str, str], path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], source: Path
) -> Any:
    """Replace ${VAR} in every string; an unset variable is an error naming it and the key."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env, (*path, key), lines, source) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env, (*path, index), lines, source) for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            where = _where(path, lines, source)
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return env[name]

    return _VAR.sub(substitute, value)


def _override(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for variable, (section, key) in ENV_OVERRIDES.items():
        if env.get(variable):
            block = raw.setdefault(section, {})
            if isinstance(block, dict):
                block[key] = env[variable]


def _describe(exc: ValidationError, lines: dict[tuple[Any, ...], int], source: Path) -> str:
    """One line per problem: file:line: key.path: what is wrong."""
    problems = []
    for error in exc.errors():
        path = tuple(part for part in error["loc"] if not _is_model_name(part))
        message = _message(error, path)
        named, colon, rest = message.partition(": ")
        if not path and colon and _KEY_PATH.fullmatch(named):
            # a check across sections names the key it is about first: point at that key's line
            path, message = tuple(named.split(".")), rest
        problems.append(f"{_where(path, lines, source)}: {message}")
    return "\n".join(dict.fromkeys(problems))


def _is_model_name(part: Any) -> bool:
    # pydantic inserts union member names (e.g. 'str') into locations; they are not keys
    return isinstance(part, str) and part in ("str", "int", "float", "bool", "list[str]")


def _where(path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], source: Path) -> str:
    dotted = ".".join(str(part) for part in path) or "(top level)"
    line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)
    return f"{source}:{line}: {dotted}" if line else f"{source}: {dotted}"


def _message(error: Any, path: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key" + _suggestion(path)
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif message.startswith("Assertion failed, "):
        message = message[len("Assertion failed, ") :]
    return message[0].lower() + message[1:] if message else kind


def _suggestion(path: tuple[Any, ...]) -> str:
    known = _known_keys(path[:-1])
    close = difflib.get_close_matches(str(path[-1]), known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    annotation: Any = Config
    for part in parent:
        annotation = _step(annotation, part)
    model = _model(annotation)
    return [field.alias or name for name, field in model.model_fields.items()] if model else []


def _step(annotation: Any, part: Any) -> Any:
    """The annotation one key or index deeper."""
    annotation = _unwrap_optional(annotation)
    model = _model(annotation)
    if model is not None:
        field = model.model_fields.get(str(part)) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        return field.annotation if field else None
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[-1] if typing.get_origin(annotation) in (dict, list) and args else None


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation stands for (looking inside `X | None`)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    for candidate in (annotation, *(typing.get_args(annotation) if union else ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
