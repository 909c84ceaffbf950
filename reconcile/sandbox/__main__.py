"""`python -m reconcile.sandbox`: serve a sandbox with the sample data until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from reconcile.sandbox.sample import build_sample
from reconcile.sandbox.sandbox import Sandbox


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox, print the environment to point reconcile at it, wait for Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m reconcile.sandbox", description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample data and fault RNG")
    parser.add_argument("--github-port", type=int, default=0, help="port of the GitHub look-alike (0: any)")
    parser.add_argument("--notion-port", type=int, default=0, help="port of the Notion look-alike (0: any)")
    parser.add_argument("--notion-rps", type=float, default=None, help="Notion rate limit (requests/s)")
    args = parser.parse_args(argv)
    sandbox = Sandbox(
        seed=args.seed, notion_rps=args.notion_rps, github_port=args.github_port, notion_port=args.notion_port
    )
    info = build_sample(sandbox)
    with sandbox:
        print(f"export GITHUB_API_URL={sandbox.github_url}")
        print(f"export GITHUB_TOKEN={sandbox.github_token}")
        print(f"export NOTION_API_URL={sandbox.notion_url}")
        print(f"export NOTION_API_KEY={sandbox.notion_token}")
        print(f"export NOTION_DB_ID={info.database_id}")
        print(f"# repositories: {', '.join(info.repos)} -- Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
