"""Fixtures for the sandbox's own tests: a started Sandbox on a FakeClock and HTTP clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_helpers import WORK_SCHEMA, Api, github_client, load_github_spec, load_notion_spec, notion_client

from reconcile.clock import FakeClock
from reconcile.sandbox import Sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def gh(sb: Sandbox) -> Api:
    return github_client(sb)


@pytest.fixture
def notion(sb: Sandbox) -> Api:
    return notion_client(sb)


@pytest.fixture
def notion_new(sb: Sandbox) -> Api:
    return notion_client(sb, "2025-09-03")


@pytest.fixture
def db(sb: Sandbox) -> str:
    return sb.notion.create_database("Work", WORK_SCHEMA)


@pytest.fixture(scope="session")
def github_spec() -> dict[str, Any]:
    return load_github_spec()


@pytest.fixture(scope="session")
def notion_spec() -> dict[str, Any]:
    return load_notion_spec()
