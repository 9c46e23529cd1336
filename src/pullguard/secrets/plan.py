"""What every changing ``secret`` command has in common: it plans first, then writes.

A plan is computed from reads only (and registry checks). It says what it will
do in lines safe to print (no value), whether a mistake in it could break pulls
(``risky``: then it needs ``--apply``), and the objects it would write (``-o yaml``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["DryRun", "Plan", "Report"]

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_EXPIRED = 0, 1, 2, 3


class DryRun(StrEnum):
    NONE = "none"  # write
    CLIENT = "client"  # print the plan, contact no write endpoint
    SERVER = "server"  # send the writes with ?dryRun=All


@dataclass(slots=True)
class Report:
    """What a command did: lines for the user (stdout), warnings (stderr) and its exit code."""

    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    code: int = EXIT_OK

    def fail(self, line: str, code: int = EXIT_FAILED) -> Report:
        self.lines.append(line)
        self.code = max(self.code, code)
        return self


@dataclass(slots=True)
class Plan:
    """``execute(server_dry_run)`` does the writes and reports; nothing is written before it runs."""

    summary: list[str]
    execute: Callable[[bool], Report] | None = None  # None: nothing to do (or the checks failed)
    objects: list[dict[str, Any]] = field(default_factory=list)  # for -o yaml
    risky: bool = False
    warnings: list[str] = field(default_factory=list)
    code: int = EXIT_OK  # for a plan that cannot run (failed verification)
