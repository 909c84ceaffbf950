"""Config loading: interpolation, environment overrides, and errors that name the key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config import load_config
from reconcile.errors import ConfigError

GOOD = """\
version: 1
github:
  token: ${GITHUB_TOKEN}
  repos: [acme/web]
notion:
  token: ${NOTION_API_KEY}
  database_id: db-1
mapping:
  properties:
    Name: {type: title, value: "{title}"}
    Status:
      type: select
      policy: on_change
      rules:
        - {if: {state: closed}, then: Done}
        - {then: Backlog}
"""
ENV = {"GITHUB_TOKEN": "ghp_secret_value", "NOTION_API_KEY": "secret_notion_value"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=ENV if env is None else env)
    return str(caught.value)


def test_a_good_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env=ENV)
    assert config.github.token is not None and config.github.token.get_secret_value() == "ghp_secret_value"
    assert config.mapping.key == "GitHub URL"
    assert config.apply.batch_size == 25 and config.notion.requests_per_second == 3
    assert config.mapping.properties["Status"].rules[0].when.state == "closed"  # type: ignore[index,union-attr]


def test_environment_variables_override_the_keys_they_name(tmp_path: Path) -> None:
    env = {
        **ENV,
        "NOTION_DB_ID": "db-2",
        "GITHUB_API_URL": "https://ghe.example/api/v3",
        "RECONCILE_DATABASE_URL": "sqlite:///other.db",
        "NOTION_API_URL": "http://127.0.0.1:9",
    }
    config = load_config(write(tmp_path, GOOD), env=env)
    assert config.notion.database_id == "db-2"
    assert config.github.api_url == "https://ghe.example/api/v3"
    assert config.mirror.url == "sqlite:///other.db"
    assert config.notion.api_url == "http://127.0.0.1:9"


def test_an_unset_variable_is_named_with_its_key_and_line(tmp_path: Path) -> None:
    message = error(tmp_path, GOOD, env={"NOTION_API_KEY": "x"})
    assert message.endswith(":3: github.token: environment variable GITHUB_TOKEN is not set")


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("apply:\n  batch_sise: 3\n", ":18: apply.batch_sise: unknown key (did you mean batch_size?)"),
        ("apply:\n  on_orphan: delete\n", ":18: apply.on_orphan: input should be 'report' or 'archive'"),
        ("apply:\n  batch_size: 0\n", ":18: apply.batch_size: input should be greater than or equal to 1"),
        ("stale:\n  action: nap\n", ":18: stale.action: input should be"),
    ],
)
def test_errors_name_the_full_key_path_and_line(tmp_path: Path, snippet: str, expected: str) -> None:
    assert expected in error(tmp_path, GOOD + snippet)


def test_an_unknown_key_deep_in_the_mapping_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, GOOD.replace("policy: on_change", "polcy: on_change"))
    assert ":13: mapping.properties.Status.polcy: unknown key (did you mean policy?)" in message


def test_an_unknown_condition_and_an_unknown_template_field_are_errors(tmp_path: Path) -> None:
    text = GOOD.replace("{if: {state: closed}", "{if: {stat: closed}").replace('"{title}"', '"{titel}"')
    message = error(tmp_path, text)
    assert "mapping.properties.Status.rules.0.if.stat: unknown key (did you mean state?)" in message
    assert ":10: mapping.properties.Name.value: unknown field {titel} in template" in message


def test_every_message_is_one_line_per_problem(tmp_path: Path) -> None:
    message = error(tmp_path, GOOD + "apply:\n  batch_sise: 3\n  on_orphan: delete\n")
    lines = message.splitlines()
    assert len(lines) == 2 and all(line.startswith(str(tmp_path)) for line in lines)


def test_set_status_is_refused_when_the_status_property_is_overwrite(tmp_path: Path) -> None:
    text = (
        GOOD.replace("      policy: on_change\n", "")
        + "stale:\n  action: set_status\n  set_status: Backlog\n"
    )
    assert "set_status is refused while mapping.properties.Status.policy is overwrite" in error(
        tmp_path, text
    )


def test_set_status_is_accepted_under_on_change(tmp_path: Path) -> None:
    text = GOOD + "stale:\n  action: set_status\n  set_status: Backlog\n"
    assert load_config(write(tmp_path, text), env=ENV).stale.set_status == "Backlog"


def test_a_missing_file_and_bad_yaml_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", env=ENV)
    assert "config.yaml:3: not valid YAML" in error(tmp_path, "version: 1\ngithub: [unclosed\n")


def test_the_key_property_cannot_also_be_mapped(tmp_path: Path) -> None:
    text = GOOD.replace("    Name:", '    GitHub URL: {type: url, value: "{url}"}\n    Name:')
    assert "is the key property" in error(tmp_path, text)


def test_errors_never_contain_the_tokens(tmp_path: Path) -> None:
    message = error(tmp_path, GOOD + "apply:\n  batch_sise: 3\n")
    assert "ghp_secret_value" not in message and "secret_notion_value" not in message


def test_durations_of_the_schedules_parse_and_bad_ones_are_named(tmp_path: Path) -> None:
    text = GOOD.replace("  database_id: db-1\n", "  database_id: db-1\n  sweep_every: 2h\n") + (
        "mirror:\n  retention: 30d\nhealth:\n  max_age: 15m\ngithub_extra: 1\n"
    )
    assert "github_extra: unknown key" in error(tmp_path, text)
    config = load_config(write(tmp_path, text.replace("github_extra: 1\n", "")), env=ENV)
    assert config.notion.sweep_every.total_seconds() == 7200
    assert config.mirror.retention.days == 30 and config.health.max_age.total_seconds() == 900
    assert config.github.resync_every.days == 1 and config.apply.on_duplicate == "report"
    bad = text.replace("sweep_every: 2h", "sweep_every: 2 weeks").replace("github_extra: 1\n", "")
    assert "notion.sweep_every: '2 weeks' is not a duration" in error(tmp_path, bad)


def test_commands_that_read_only_the_mirror_load_without_the_tokens(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    bare = load_config(path, env={}, tokens=())
    notion_only = load_config(path, env={"NOTION_API_KEY": "secret_notion_value"}, tokens=("notion",))

    assert bare.notion.token is None and bare.github.token is None
    assert notion_only.notion.token is not None and notion_only.github.token is None
    assert "NOTION_API_KEY is not set" in error(tmp_path, GOOD, env={"GITHUB_TOKEN": "x"})  # default: both
    other = GOOD.replace("database_id: db-1", "database_id: ${NOTION_DB_ID}")
    with pytest.raises(ConfigError, match="NOTION_DB_ID is not set"):  # only tokens may be missing
        load_config(write(tmp_path, other), env={}, tokens=())
