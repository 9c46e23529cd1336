"""Input problems as people read them: identical ones (same level, code and message, typically
many un-rendered templates) once, with how many there are and in which files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pullguard.report.console import plural
from pullguard.sources.model import InputProblem, Level


@dataclass(frozen=True, slots=True)
class ProblemGroup:
    level: Level
    code: str
    message: str
    members: tuple[InputProblem, ...]

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(p.location.path for p in self.members))


def grouped(problems: Iterable[InputProblem]) -> list[ProblemGroup]:
    """Groups in the order their first problem was read."""
    groups: dict[tuple[Level, str, str], list[InputProblem]] = {}
    for problem in problems:
        groups.setdefault((problem.level, problem.code, problem.message), []).append(problem)
    return [
        ProblemGroup(level, code, message, tuple(members))
        for (level, code, message), members in groups.items()
    ]


def files_shown(group: ProblemGroup, limit: int = 10) -> str:
    files = group.files
    return ", ".join(files[:limit]) + (f" and {len(files) - limit} more" if len(files) > limit else "")


def problem_lines(problems: Iterable[InputProblem], limit: int = 10) -> list[tuple[Level, str]]:
    """One line per problem, identical ones once with a count and the files (up to `limit` named):
    the text report's lines, which `pullguard fix` prints too."""
    lines: list[tuple[Level, str]] = []
    for group in grouped(problems):
        if len(group.members) == 1:
            lines.append((group.level, str(group.members[0])))
            continue
        lines.append(
            (
                group.level,
                f"{len(group.members)} x {group.level.value}: {group.message} "
                f"({plural(len(group.files), 'file')}: {files_shown(group, limit)})",
            )
        )
    return lines
