"""Input problems as people read them: identical ones (same level, code and message, typically
many un-rendered templates) once, with how many there are and in which files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
