"""One failing unit costs that unit, never the report.

A bug in pullguard that only some input reaches (one check, one object) is still
an internal error, but the findings already computed are reported with it: the
failure becomes an error-level input problem (`internal-error`, exit code 2)
naming what was lost. PULLGUARD_DEBUG=1 prints the traceback.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable
from typing import TypeVar

from pullguard.sources.model import InputProblem, Level, Location

T = TypeVar("T")

INTERNAL_ERROR = "internal-error"
RUN = Location("pullguard", 0, 0)  # a problem of the run, not of one file


def internal_problem(where: Location, lost: str, error: BaseException) -> InputProblem:
    if os.environ.get("PULLGUARD_DEBUG"):
        traceback.print_exception(error)
    return InputProblem(
        where,
        Level.ERROR,
        INTERNAL_ERROR,
        f"internal error ({type(error).__name__}): {lost}; set PULLGUARD_DEBUG=1 for the traceback and report it",
    )


def isolated(
    produce: Callable[[], Iterable[T]], where: Location, lost: str, problems: list[InputProblem]
) -> list[T]:
    """Everything `produce` yields, or nothing and an internal-error problem when it fails."""
    try:
        return list(produce())
    except Exception as error:  # the unit is lost, the run is not
        problems.append(internal_problem(where, lost, error))
        return []
