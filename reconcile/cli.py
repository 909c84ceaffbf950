"""The `reconcile` command: parse, call one library function, render, exit with the contract's code."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import IO, Any, NoReturn

import click

from reconcile import __version__, signals
from reconcile.config import Config, load_config
from reconcile.errors import ConfigError, ReconcileError
from reconcile.jobs.context import Context
from reconcile.jobs.run import RunResult
from reconcile.logs import LogFileError, redact, setup
from reconcile.model import parse_instant
from reconcile.terminal import TerminalProgress, watching

log = logging.getLogger("reconcile.cli")

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_PARTIAL, EXIT_LOCKED = 0, 1, 2, 3, 75
STATUS_EXIT = {
    "ok": EXIT_OK,
    "partial": EXIT_PARTIAL,
    "failed": EXIT_ERROR,
    "locked": EXIT_LOCKED,
    "paused": EXIT_OK,  # a paused board: nothing written, and nothing wrong
}
FORMATS = click.Choice(["text", "json", "markdown"])
ENV_PREFIX = "RECONCILE"  # options also come from RECONCILE_<COMMAND>_<OPTION> (auto_envvar_prefix)
EXPORT_BUFFER = 16 * 1024 * 1024  # an export to stdout is held (spilling to disk) until it is complete


class Instant(click.ParamType):
    """An ISO-8601 instant on the command line."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 instant (e.g. 2026-01-10T12:00:00Z)", param, ctx)


INSTANT = Instant()


# -- options every command takes, before or after its name --------------------------------------

_COMMON = ("config", "log_format", "log_level", "log_file", "quiet", "verbose")

Failure = Callable[[str, int], dict[str, Any]]  # a command's JSON shape for an error message and exit code


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """-c/--config, the log options, -q and -v: accepted after the command name as well as before it."""
    options = [
        click.option(
            "-c",
            "--config",
            "config",
            type=click.Path(dir_okay=False),
            default=None,
            help="Config file (default: $RECONCILE_CONFIG or ./config.yaml).",
        ),
        click.option(
            "--log-format", type=click.Choice(["text", "json"]), default=None, help="Log line format."
        ),
        click.option(
            "--log-level",
            type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
            default=None,
            help="Least severe log level shown.",
        ),
        click.option(
            "--log-file", type=click.Path(dir_okay=False), default=None, help="Also append logs to PATH."
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            default=None,
            help="Less: warnings and errors only, no progress bars, text results in one line.",
        ),
        click.option(
            "-v", "--verbose", is_flag=True, default=None, help="More: debug logs, long lists in full."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def leaf(function: Callable[..., Any] | None = None, *, failure: Failure | None = None) -> Any:
    """A command body: merge the common options into ctx.obj and set up logging first.

    With `--format json`, an error still prints one JSON object on stdout (the command's shape, with
    an `error` member) besides the one line on stderr, and exits with the error's code.
    """
    if function is None:
        return lambda function: leaf(function, failure=failure)

    @common_options
    @click.pass_context
    @wraps(function)
    def wrapper(ctx: click.Context, **kwargs: Any) -> Any:
        settings = ctx.ensure_object(dict)
        for name in _COMMON:
            value = kwargs.pop(name)
            if value is not None:
                settings[name] = value
        try:
            setup(log_level(settings), settings.get("log_format") or "text", settings.get("log_file"))
        except LogFileError as exc:
            if getattr(function, "ends_with_outcome", False):
                fail_early(settings, function.__name__, kwargs.get("format", "text"), exc)
            raise
        if "format" in kwargs:  # `--format` (so RECONCILE_<COMMAND>_FORMAT reads it) is `fmt` in the bodies
            kwargs["fmt"] = kwargs.pop("format")
        if kwargs.get("fmt") != "json":
            return function(settings, **kwargs)
        try:
            return function(settings, **kwargs)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # ReconcileError, a usage error inside the command, or a bug
            fail_json(exc, failure or plain_failure)

    return wrapper


def log_level(settings: dict[str, Any]) -> str:
    """--log-level when given; else -v means debug and -q warnings; else info, except on a terminal
    without a log file, where progress bars stand in for the info lines (-v brings them back)."""
    if settings.get("log_level"):
        return str(settings["log_level"])
    if settings.get("verbose"):
        return "debug"
    if settings.get("quiet") or (watching() and not settings.get("log_file")):
        return "warning"
    return "info"


def fail_json(exc: Exception, failure: Failure) -> NoReturn:
    """An error under --format json: its JSON on stdout, one line on stderr, the error's exit code."""
    if isinstance(exc, ReconcileError):
        message, code = str(exc), exc.exit_code
    elif isinstance(exc, click.ClickException):
        message, code = exc.format_message(), EXIT_ERROR
    else:  # a bug: one line for the user, the traceback for the log (debug)
        log.debug("internal error", exc_info=True)
        message, code = f"internal error: {type(exc).__name__}: {exc}", EXIT_ERROR
    from reconcile.report import dumps

    click.echo(redact(dumps(failure(message, code))))
    click.echo(f"error: {redact(message)}", err=True)
    raise SystemExit(code)


def plain_failure(message: str, code: int) -> dict[str, Any]:
    return {"status": "locked" if code == EXIT_LOCKED else "failed", "error": message}


def run_failure(message: str, code: int) -> dict[str, Any]:
    """A run-like command that failed before its run began: the run's shape (CONTRACT §8)."""
    return RunResult(None, status="locked" if code == EXIT_LOCKED else "failed", error=message).as_json()


def ends_with_outcome(function: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a command that ends with a run's outcome: even a run that cannot start leaves its metrics
    and outcome line (a bad config, a mirror never upgraded, an unusable --log-file)."""
    function.ends_with_outcome = True  # type: ignore[attr-defined]
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@common_options
@click.version_option(__version__, prog_name="reconcile")
@click.pass_context
def cli(ctx: click.Context, **settings: Any) -> None:
    """Keep a Notion database true to GitHub: pull both into a SQL mirror, plan the diff, apply it.

    Run it from cron (`reconcile run`); see `reconcile demo` for a tour on a built-in sandbox.
    Exit codes: 0 ok, 1 error, 2 changes pending (--detailed-exitcode), 3 some operations failed,
    75 another run holds the lock. Options can also come from the environment: RECONCILE_<COMMAND>_<OPTION>
    (RECONCILE_RUN_FORMAT=json, RECONCILE_LOG_FORMAT=json).
    """
    ctx.ensure_object(dict).update({k: v for k, v in settings.items() if v is not None})


# -- helpers -------------------------------------------------------------------------------------


ALL_APIS = ("notion", "github")


def context(settings: dict[str, Any], *, migrate: bool = True, tokens: tuple[str, ...] = ALL_APIS) -> Context:
    """Config, mirror and clients for a command; `tokens`: the APIs it calls (whose tokens must be set)."""
    return _built(settings, load_config(settings.get("config"), tokens=tokens), migrate=migrate)


def _built(settings: dict[str, Any], config: Config, *, migrate: bool = True) -> Context:
    ctx = Context.build(config, fixed_now=fixed_now(), migrate=migrate)
    if watching() and not settings.get("quiet"):
        ctx.progress = TerminalProgress()
    return ctx


def fixed_now() -> datetime | None:
    value = os.environ.get("RECONCILE_NOW")
    if not value:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        raise ConfigError(f"RECONCILE_NOW: {value!r} is not an ISO-8601 instant") from None


def emit(text: str) -> None:
    click.echo(redact(text))


def emit_chunks(chunks: Iterable[str], file: IO[str] | None = None) -> None:
    """A long text piece by piece (each piece redacted: a piece is whole values, so no secret spans two),
    ending with a newline; on stdout unless `file` is given. Written a thousand pieces at a time."""
    for batch in _batched(chunks):
        click.echo(redact("".join(batch)), file=file, nl=False)
    click.echo("", file=file)


def _batched(chunks: Iterable[str], size: int = 1000) -> Iterator[tuple[str, ...]]:  # itertools' in 3.12
    iterator = iter(chunks)
    while batch := tuple(itertools.islice(iterator, size)):
        yield batch


def outcome_context(settings: dict[str, Any], command: str, fmt: str) -> Context:
    """context() for a command that ends with an outcome: a failure to build it is that run's outcome."""
    try:
        config = load_config(settings.get("config"))
    except ReconcileError as exc:
        fail_early(settings, command, fmt, exc)
    try:
        return _built(settings, config)
    except ReconcileError as exc:  # the mirror, RECONCILE_NOW: the board is known, its metrics say which
        fail_early(settings, command, fmt, exc, board=config.notion.database_id)


def fail_early(
    settings: dict[str, Any], command: str, fmt: str, exc: ReconcileError, board: str | None = None
) -> NoReturn:
    """A run that could not start: its JSON (when asked), its metrics, and its FAILED outcome line (the
    one line on stderr, with the error); exit 1."""
    from reconcile.jobs.outcome import conclude_early
    from reconcile.report import render_run

    result = RunResult(None, status="failed", error=redact(str(exc)), command=command)
    with signals.deferred():
        if fmt == "json":
            emit(render_run(result, fmt))
        conclude_early(result, settings.get("metrics_textfile"), settings.get("pushgateway"), board)
    raise SystemExit(signals.EXIT_TERMINATED if signals.received() else exc.exit_code)


def finish_run(
    result: RunResult, fmt: str, settings: dict[str, Any], ctx: Context, *, detailed: bool = False
) -> NoReturn:
    """Print a run's result, export its metrics (where asked), log its outcome line, exit with its code."""
    from reconcile.report import render_run

    emit(render_run(result, fmt, verbose=bool(settings.get("verbose")), quiet=bool(settings.get("quiet"))))
    finish_result(result, fmt, settings, ctx, detailed=detailed)


def finish_result(
    result: RunResult, fmt: str, settings: dict[str, Any], ctx: Context, *, detailed: bool = False
) -> NoReturn:
    """The printed run's error line (JSON: on stderr too), its metrics and outcome line, its exit code."""
    from reconcile.jobs.outcome import conclude

    with signals.deferred():  # a SIGTERM now waits for the run's end to be written
        if result.error and fmt == "json":
            click.echo(f"error: {redact(result.error)}", err=True)
        exported = conclude(ctx, result, settings.get("metrics_textfile"), settings.get("pushgateway"))
    code = STATUS_EXIT[result.status]
    if code == EXIT_OK and detailed and result.dry_run and result.plan and result.plan.writes:
        code = EXIT_CHANGES
    if code == EXIT_OK and not exported:
        code = EXIT_ERROR
    raise SystemExit(signals.EXIT_TERMINATED if signals.received() else code)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:
        ctx.ensure_object(dict)[str(param.name)] = value


def metrics_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--metrics-textfile and --pushgateway, kept in the command's settings for finish_run."""
    for option in (
        click.option(
            "--pushgateway",
            metavar="URL",
            expose_value=False,
            callback=_remember,
            help="Push the run's metrics to this Prometheus Pushgateway.",
        ),
        click.option(
            "--metrics-textfile",
            metavar="PATH",
            expose_value=False,
            callback=_remember,
            help="Write the run's metrics to PATH (Prometheus text format).",
        ),
    ):
        command = option(command)
    return command


force_option = click.option("--force", is_flag=True, help="Apply even beyond apply.max_change_ratio.")
dry_run_option = click.option("--dry-run", is_flag=True, help="Stop after the plan; write nothing to Notion.")


def format_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", type=FORMATS, default="text", show_default=True, help="Output format.")(
        command
    )


# -- run, pull, plan, apply, backfill ------------------------------------------------------------


@cli.command()
@dry_run_option
@click.option("--full", is_flag=True, help="Pull everything (detects deletions on both sides).")
@click.option("--since", type=INSTANT, help="Pull from this instant (a backfill; cursors stay).")
@click.option(
    "--detailed-exitcode", is_flag=True, help="With --dry-run: exit 2 when there are writes to make."
)
@force_option
@format_option
@metrics_options
@leaf(failure=run_failure)
@ends_with_outcome
def run(
    settings: dict[str, Any],
    dry_run: bool,
    full: bool,
    since: datetime | None,
    detailed_exitcode: bool,
    force: bool,
    fmt: str,
) -> None:
    """Lock, pull, plan, apply, report: the cron entry point."""
    from reconcile.jobs.run import execute, pull_step

    ctx = outcome_context(settings, "run", fmt)
    result = execute(ctx, "run", pull_step(full=full, since=since), dry_run=dry_run, force=force)
    finish_run(result, fmt, settings, ctx, detailed=detailed_exitcode)


@cli.command()
@click.option("--full", is_flag=True, help="Pull everything (detects deletions on both sides).")
@click.option("--since", type=INSTANT, help="Pull from this instant without moving the cursors.")
@format_option
@leaf
def pull(settings: dict[str, Any], full: bool, since: datetime | None, fmt: str) -> None:
    """Pull GitHub and Notion into the mirror, and nothing else."""
    from reconcile.jobs.pull import pull as pull_job
    from reconcile.report import render_pull

    emit(render_pull(pull_job(context(settings), full=full, since=since), fmt))


@cli.command()
@click.option("--no-pull", is_flag=True, help="Plan from the mirror as it is (needs no tokens).")
@click.option("--full", is_flag=True, help="Pull everything first.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Also save the plan as JSON, for `reconcile apply FILE` (`-`: stdout, and nothing else there).",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has writes to make.")
@format_option
@leaf
def plan(
    settings: dict[str, Any], no_pull: bool, full: bool, out: str | None, detailed_exitcode: bool, fmt: str
) -> None:
    """Show what a run would do (pulls first unless --no-pull)."""
    from reconcile.jobs.run import pulled_plan
    from reconcile.report import plan_chunks, plan_json_chunks, summary_line

    ctx = context(settings, tokens=() if no_pull else ALL_APIS)
    result = pulled_plan(ctx, pull_first=not no_pull, full=full)
    if out == "-":  # the plan file on stdout, for `reconcile apply -`; people read the summary on stderr
        emit_chunks(plan_json_chunks(result))
        if not settings.get("quiet"):
            click.echo(summary_line(result), err=True)
    else:
        if out:
            with Path(out).open("w", encoding="utf-8") as saved:
                emit_chunks(plan_json_chunks(result), saved)
        verbose, quiet = bool(settings.get("verbose")), bool(settings.get("quiet"))
        emit_chunks(plan_chunks(result, fmt, verbose=verbose, quiet=quiet))
    raise SystemExit(EXIT_CHANGES if detailed_exitcode and result.writes else EXIT_OK)


@cli.command()
@click.argument("planfile", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@force_option
@format_option
@metrics_options
@leaf(failure=run_failure)
@ends_with_outcome
def apply(
    settings: dict[str, Any],
    planfile: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Apply a saved plan (`-`: from stdin), skipping what changed since; or plan and apply."""
    from reconcile.jobs.run import execute, pull_step
    from reconcile.jobs.saved import apply_saved

    text = click.get_text_stream("stdin").read() if planfile == "-" else None  # before the mirror opens
    ctx = outcome_context(settings, "apply", fmt)
    result = (
        apply_saved(ctx, "<stdin>" if planfile == "-" else planfile, force=force, text=text)
        if planfile
        else execute(ctx, "apply", pull_step(), force=force)
    )
    finish_run(result, fmt, settings, ctx)


@cli.command()
@click.option("--since", type=INSTANT, required=True, help="Start of the window (ISO-8601).")
@click.option("--until", type=INSTANT, help="End of the window (default: now).")
@dry_run_option
@force_option
@format_option
@metrics_options
@leaf(failure=run_failure)
@ends_with_outcome
def backfill(
    settings: dict[str, Any],
    since: datetime,
    until: datetime | None,
    dry_run: bool,
    force: bool,
    fmt: str,
) -> None:
    """Re-pull a window (after an outage) and reconcile it; the saved cursors do not move."""
    from reconcile.jobs.run import execute, pull_step

    if until is not None and until < since:
        raise click.BadParameter("--until is before --since", param_hint="--until")
    ctx = outcome_context(settings, "backfill", fmt)
    result = execute(ctx, "backfill", pull_step(since=since, until=until), dry_run=dry_run, force=force)
    finish_run(result, fmt, settings, ctx)


@cli.command()
@click.option("--item", "item", metavar="OWNER/REPO#N", help="The GitHub item to refresh.")
@click.option("--page", "page", metavar="PAGE_ID", help="The Notion page to refresh.")
@dry_run_option
@force_option
@format_option
@metrics_options
@leaf(failure=run_failure)
@ends_with_outcome
def refresh(
    settings: dict[str, Any], item: str | None, page: str | None, dry_run: bool, force: bool, fmt: str
) -> None:
    """Force one item (or page) through pull, plan and apply; no other page is written."""
    from reconcile.jobs.refresh import parse_item
    from reconcile.jobs.refresh import refresh as refresh_job

    if (item is None) == (page is None):
        raise click.UsageError("give exactly one of --item OWNER/REPO#N or --page PAGE_ID")
    target = parse_item(item) if item else None
    ctx = outcome_context(settings, "refresh", fmt)
    finish_run(refresh_job(ctx, item=target, page_id=page, dry_run=dry_run, force=force), fmt, settings, ctx)


# -- stale, status, reset, restore ---------------------------------------------------------------


@cli.command()
@click.option("--no-pull", is_flag=True, help="Use the mirror as it is (needs no tokens).")
@format_option
@leaf
def stale(settings: dict[str, Any], no_pull: bool, fmt: str) -> None:
    """List pages stuck in the stale status (stale.status) with no recent activity."""
    from reconcile.jobs.run import pulled_plan
    from reconcile.report import render_stale

    ctx = context(settings, tokens=() if no_pull else ALL_APIS)
    result = pulled_plan(ctx, pull_first=not no_pull)
    emit(render_stale(result.stale, ctx.now(), fmt, verbose=bool(settings.get("verbose"))))


@cli.command()
@format_option
@leaf
def status(settings: dict[str, Any], fmt: str) -> None:
    """Recent runs, pending and failed operations, the lock, and whether the board is paused."""
    from reconcile.jobs.status import render_status
    from reconcile.jobs.status import status as status_job

    emit(render_status(status_job(context(settings, tokens=())), fmt))


@cli.command()
@click.option("--clear-locks", is_flag=True, help="Remove the lock a dead run left behind.")
@click.option("--retry-failed", is_flag=True, help="Retry the operations that failed, now.")
@format_option
@metrics_options
@leaf
def reset(settings: dict[str, Any], clear_locks: bool, retry_failed: bool, fmt: str) -> None:
    """Recovery after a crash: clear a stale lock, retry failed operations."""
    from reconcile.jobs.status import clear_locks as clear_job
    from reconcile.jobs.status import retry_failed as retry_job
    from reconcile.report import dumps, render_cleared, render_run

    if not (clear_locks or retry_failed):
        raise click.UsageError("give --clear-locks and/or --retry-failed")
    ctx = outcome_context(settings, "reset", fmt) if retry_failed else context(settings)
    cleared = clear_job(ctx) if clear_locks else None
    if not retry_failed:
        emit(render_cleared(cleared or [], fmt))
        raise SystemExit(EXIT_OK)
    result = retry_job(ctx)
    if fmt == "json":
        emit(dumps({**result.as_json(), **({"cleared": cleared} if cleared is not None else {})}))
    else:
        head = render_cleared(cleared, fmt) + "\n\n" if cleared is not None else ""
        emit(head + render_run(result, fmt, verbose=bool(settings.get("verbose"))))
    finish_result(result, fmt, settings, ctx)


@cli.command()
@click.option(
    "--as-of", "as_of", type=INSTANT, required=True, help="Put values back as the mirror saw them then."
)
@dry_run_option
@force_option
@format_option
@metrics_options
@leaf(failure=run_failure)
@ends_with_outcome
def restore(settings: dict[str, Any], as_of: datetime, dry_run: bool, force: bool, fmt: str) -> None:
    """Put mapped properties back to the values the mirror saw at an instant."""
    from reconcile.jobs.restore import restore as restore_job

    ctx = outcome_context(settings, "restore", fmt)
    finish_run(restore_job(ctx, as_of, dry_run=dry_run, force=force), fmt, settings, ctx)


# -- pause, resume, export, page set -------------------------------------------------------------


@cli.command()
@click.option("--reason", metavar="TEXT", help="Why (shown by status and health).")
@format_option
@leaf
def pause(settings: dict[str, Any], reason: str | None, fmt: str) -> None:
    """Stop writing to Notion: until `resume`, commands that write do nothing and exit 0."""
    from reconcile.jobs.pause import pause_board
    from reconcile.report import render_pause

    ctx = context(settings, tokens=())
    emit(render_pause(ctx.board, pause_board(ctx, reason), fmt))


@cli.command()
@format_option
@leaf
def resume(settings: dict[str, Any], fmt: str) -> None:
    """Write to Notion again; the next run applies whatever changed meanwhile."""
    from reconcile.jobs.pause import resume_board
    from reconcile.report import render_resume

    ctx = context(settings, tokens=())
    emit(render_resume(ctx.board, resume_board(ctx), fmt))


@cli.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write to FILE (replaced only once the export is complete); `-` or none: stdout.",
)
@click.option(
    "--format", type=click.Choice(["json", "csv"]), default="json", show_default=True, help="Format."
)
@click.option("--from-mirror", is_flag=True, help="Export the mirror's copy (no tokens, no API calls).")
@leaf
def export(settings: dict[str, Any], out: str | None, fmt: str, from_mirror: bool) -> None:
    """Every page of the database with its values, as JSON or CSV: a complete live read, for backups."""
    from reconcile.report import render_export

    ctx = context(settings, tokens=() if from_mirror else ("notion",), migrate=from_mirror)
    if out in (None, "-"):
        export_to_stdout(ctx, fmt, from_mirror)
        return
    result = export_to_file(ctx, Path(str(out)), fmt, from_mirror)
    emit(render_export(result, str(out), "json" if fmt == "json" else "text"))


def export_to_stdout(ctx: Context, fmt: str, from_mirror: bool) -> None:
    """The export on stdout once it is complete (an error prints only the error)."""
    from reconcile.jobs.export import export as export_job

    with tempfile.SpooledTemporaryFile(EXPORT_BUFFER, "w+", encoding="utf-8", newline="") as buffer:
        export_job(ctx, buffer, fmt, from_mirror=from_mirror)
        buffer.seek(0)
        stdout = click.get_text_stream("stdout")
        shutil.copyfileobj(buffer, stdout)  # type: ignore[misc]
        stdout.flush()


def export_to_file(ctx: Context, path: Path, fmt: str, from_mirror: bool) -> Any:
    """The export into `path`, which is replaced only once it is complete (yesterday's backup survives)."""
    from reconcile.jobs.export import export as export_job

    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            result = export_job(ctx, out, fmt, from_mirror=from_mirror)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ReconcileError(f"export: cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result


@cli.group()
def page() -> None:
    """One page, by hand."""


@page.command("set")
@click.argument("target", metavar="TARGET")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@dry_run_option
@format_option
@metrics_options
@leaf(failure=run_failure)
def page_set(
    settings: dict[str, Any], target: str, assignments: tuple[str, ...], dry_run: bool, fmt: str
) -> None:
    """Write values to one page (TARGET: a page id or OWNER/REPO#N), journalled, under the lock.

    Values are read by the property's type: select and status names must be options of the database,
    dates ISO-8601, numbers, true/false for checkboxes, comma-separated names for multi_select, and
    an empty VALUE clears. An `on_change` property set this way stands until GitHub's value changes;
    an `overwrite` one is corrected by the next run.
    """
    from reconcile.jobs.page_set import page_set as page_set_job
    from reconcile.jobs.page_set import parse_assignments, parse_target
    from reconcile.report import render_page_set

    chosen, values = parse_target(target), parse_assignments(assignments)
    ctx = context(settings)
    result = page_set_job(ctx, chosen, values, dry_run=dry_run)
    emit(render_page_set(result, fmt, quiet=bool(settings.get("quiet"))))
    if result.run.status == "partial":  # the one write failed: nothing for the next run to retry
        ctx.metrics.export(settings.get("metrics_textfile"), settings.get("pushgateway"))
        raise SystemExit(EXIT_ERROR)
    finish_result(result.run, fmt, settings, ctx)


# -- schema, health, db, demo --------------------------------------------------------------------


@cli.group()
def schema() -> None:
    """Compare the database's properties and options with the mapping."""


@schema.command("check")
@format_option
@leaf(failure=lambda message, code: {"ok": False, "problems": [], "error": message})
def schema_check(settings: dict[str, Any], fmt: str) -> None:
    """Exit 0 when the database has every mapped property and option, 1 when not."""
    from reconcile.jobs.schema import check, render_check

    result = check(context(settings, migrate=False))
    emit(render_check(result, fmt))
    raise SystemExit(EXIT_OK if result.ok else EXIT_ERROR)


@schema.command("fix")
@format_option
@leaf(failure=lambda message, code: {"ok": False, "problems": [], "error": message})
def schema_fix(settings: dict[str, Any], fmt: str) -> None:
    """Add the missing properties and options (removes nothing)."""
    from reconcile.jobs.schema import fix, render_check

    result = fix(context(settings))
    emit(render_check(result, fmt))
    raise SystemExit(EXIT_OK if result.ok or result.paused else EXIT_ERROR)


def health_failure(message: str, code: int) -> dict[str, Any]:
    """`health`'s own shape when it cannot even start (a bad RECONCILE_NOW, say)."""
    parts = {part: {"status": "unknown"} for part in ("notion", "github", "mirror", "schema", "last_run")}
    return {"status": "error", "config": {"status": "error", "error": message}, **parts}


@cli.command()
@format_option
@leaf(failure=health_failure)
def health(settings: dict[str, Any], fmt: str) -> None:
    """Check config, tokens (a real call to each API), mirror, schema and the last successful run."""
    from reconcile.jobs.health import health as health_job
    from reconcile.jobs.health import render_health
    from reconcile.report import health_markdown

    report = health_job(settings.get("config"), fixed_now())
    emit(health_markdown(report) if fmt == "markdown" else render_health(report, fmt))
    raise SystemExit(EXIT_OK if report["status"] == "ok" else EXIT_ERROR)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=3000, show_default=True, help="Port to listen on."
)
@leaf
def serve(settings: dict[str, Any], host: str, port: int) -> None:
    """Serve /health/sync, /metrics and a status page at / (read-only) until stopped."""
    from reconcile.serve.app import serve as serve_job

    ctx = context(settings, migrate=False)  # read-only: never creates or migrates the mirror
    serve_job(ctx, host, port)


@cli.group()
def db() -> None:
    """The mirror database."""


@db.command("upgrade")
@format_option
@leaf
def db_upgrade(settings: dict[str, Any], fmt: str) -> None:
    """Create or migrate the mirror to the current schema (Alembic)."""
    from reconcile.config import mirror_url
    from reconcile.mirror.db import open_engine, upgrade
    from reconcile.report import render_revision

    emit(render_revision(upgrade(open_engine(mirror_url(settings.get("config")))), fmt))


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default="reconcile-demo",
    show_default=True,
    help="Where to leave the demo's config and mirror.",
)
@click.option("--rps", type=float, default=3.0, show_default=True, help="Notion requests per second (paced).")
@leaf
def demo(settings: dict[str, Any], directory: str, rps: float) -> None:
    """Start the built-in sandbox and run the whole job against it (no credentials needed)."""
    from reconcile.jobs.demo import demo as demo_job

    if not settings.get("log_level"):  # the tour speaks for itself; show only warnings unless asked
        setup("warning", settings.get("log_format") or "text", settings.get("log_file"))
    demo_job(Path(directory), rps=rps, echo=emit)


# -- entry point ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI: usage errors exit 1 (2 means changes pending); errors print one line, no traceback."""
    signals.install()
    try:
        cli.main(args=argv, prog_name="reconcile", standalone_mode=False, auto_envvar_prefix=ENV_PREFIX)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(EXIT_ERROR) from None
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        raise SystemExit(EXIT_ERROR) from None
    except ReconcileError as exc:
        click.echo(f"error: {redact(str(exc))}", err=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except signals.Terminated as exc:  # outside a run (which records its own end): nothing to write
        click.echo(f"{exc}", err=True)
        raise SystemExit(signals.EXIT_TERMINATED) from None
    except Exception as exc:  # a bug: one line for the user, the traceback for the log (debug)
        from reconcile.mirror.db import mirror_error

        failure = mirror_error(exc)  # unless the mirror database itself failed: say what to do about it
        if failure is not None:
            click.echo(f"error: {redact(str(failure))}", err=True)
            raise SystemExit(failure.exit_code) from None
        log.debug("internal error", exc_info=True)
        click.echo(f"internal error: {type(exc).__name__}: {redact(str(exc))}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    raise SystemExit(EXIT_OK)


if __name__ == "__main__":
    main(sys.argv[1:])
