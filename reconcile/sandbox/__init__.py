"""Local look-alikes of the GitHub REST API and the Notion API, for the demo, tests and benchmarks."""

from reconcile.sandbox.faults import Fault, FaultSet
from reconcile.sandbox.github_state import GitHubState
from reconcile.sandbox.log import RequestRecord
from reconcile.sandbox.notion_errors import NotionError
from reconcile.sandbox.notion_state import NotionState
from reconcile.sandbox.sample import SampleInfo, build_sample
from reconcile.sandbox.sandbox import Sandbox

__all__ = [
    "Fault",
    "FaultSet",
    "GitHubState",
    "NotionError",
    "NotionState",
    "RequestRecord",
    "SampleInfo",
    "Sandbox",
    "build_sample",
]
