"""Errors a user can act on. Each carries a one-line message and the exit code it ends a run with."""

from __future__ import annotations


class ReconcileError(Exception):
    """A problem that ends the command with a clear message and no traceback."""

    exit_code = 1


class ConfigError(ReconcileError):
    """The config file, an environment variable or a command-line value is wrong."""


class PlanRefused(ReconcileError):
    """The plan would change more than `apply.max_change_ratio` allows (override with --force)."""


class PlanFileError(ReconcileError):
    """A saved plan cannot be applied (unreadable, another database, unknown format)."""


class Locked(ReconcileError):
    """Another run holds the lock; nothing was done."""

    exit_code = 75
