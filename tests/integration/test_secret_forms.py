"""Tokens with a trailing newline, CRLF or space, or holding a quote, driven through the real CLI: the run
works, and no form of the token reaches stdout, stderr, the log file, the metrics file or the mirror."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from reconcile.logs import secret_forms
from reconcile.mirror.tables import Base
from tests.conftest import World, cli

pytestmark = pytest.mark.slow

ODD = {"newline": ("", "\n"), "crlf": ("", "\r\n"), "space": ("", " "), "quote": ('"q', "\n")}


def tokens(world: World, odd: str) -> dict[str, str]:
    """The two tokens as the environment gives them (odd); the sandbox knows them stripped."""
    inner, tail = ODD[odd]
    notion = f"secret_{inner}{secrets.token_hex(12)}"
    github = f"ghp_{inner}{secrets.token_hex(12)}"
    world.sandbox.notion.add_token(notion, shared=[world.database_id])
    world.sandbox.github.add_token(github)
    return {"NOTION_API_KEY": notion + tail, "GITHUB_TOKEN": github + tail}


def run(config: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    log = config.parent / "reconcile.log"
    options = ["--log-format", "json", "--log-level", "debug", "--log-file", str(log)]
    metrics = ["--metrics-textfile", str(config.parent / "reconcile.prom")]
    return cli("run", "-c", str(config), *options, *metrics, *extra, env=env)


Done = subprocess.CompletedProcess[str]


def written(directory: Path, runs: list[Done], mirror_url: str) -> dict[str, bytes]:
    """Every output: stdout, stderr, each file in the directory, and each mirror table's rows as text."""
    found = {f"stdout {n}": done.stdout.encode() for n, done in enumerate(runs)}
    found |= {f"stderr {n}": done.stderr.encode() for n, done in enumerate(runs)}
    found |= {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}
    found.pop("config.yaml")
    engine = create_engine(mirror_url)
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if not inspect(connection).has_table(table.name):  # a run refused before the mirror was made
                continue
            rows = connection.execute(select(table)).all()
            found[f"table {table.name}"] = "\n".join(str(tuple(row)) for row in rows).encode()
            if engine.dialect.name == "postgresql":  # the server's own text of each row, as pg_dump has it
                dump = connection.execute(text(f'SELECT t::text FROM "{table.name}" AS t')).scalars()
                found[f"dump {table.name}"] = "\n".join(dump).encode()
    engine.dispose()
    return found


def assert_nowhere(env: dict[str, str], places: dict[str, bytes]) -> None:
    forms = {form for token in env.values() for form in secret_forms(token)}
    leaks = {(name, form) for name, data in places.items() for form in forms if form.encode() in data}
    assert leaks == set(), f"a token leaked into {sorted(name for name, _ in leaks)}"


@pytest.mark.parametrize("odd", list(ODD))
def test_an_odd_token_works_and_leaks_nowhere(world: World, tmp_path: Path, odd: str) -> None:
    world.issue(title="Secret keeping", labels=["bug"])
    world.issue("acme/api", title="Another", assignees=["alice"])
    config = world.write_config(
        tmp_path / "config.yaml", notion__token="${NOTION_API_KEY}", github__token="${GITHUB_TOKEN}"
    )
    env = tokens(world, odd)

    first = run(config, env, "--format", "json")
    assert first.returncode == 0, first.stderr
    assert len(world.pages()) == 2
    world.sandbox.notion.revoke_token(env["NOTION_API_KEY"].strip())  # a failing run: errors in every output
    world.issue(title="After the revocation")
    failed = run(config, env, "--format", "json")
    assert failed.returncode == 1 and "NOTION_API_KEY" in failed.stdout

    assert_nowhere(env, written(tmp_path, [first, failed], world.mirror_url))


def test_a_token_with_a_line_break_inside_is_refused_without_showing_it(world: World, tmp_path: Path) -> None:
    config = world.write_config(tmp_path / "config.yaml", notion__token="${NOTION_API_KEY}")
    env = {"NOTION_API_KEY": "secret_first_half\nsecond_half_0123"}

    done = run(config, env)

    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()  # one line: the run's FAILED outcome, with the reason
    assert " FAILED: " in line and "NOTION_API_KEY" in line and "line break" in line
    for half in ("secret_first_half", "second_half_0123"):
        assert all(half.encode() not in data for data in written(tmp_path, [done], world.mirror_url).values())
    assert world.notion_writes() == 0
