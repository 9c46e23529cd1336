"""The file source: paths, directories and standard input, read like `kubectl apply -R -f`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pullguard.errors import InputError
from pullguard.sources.model import InputProblem, Level, Location, Manifest, ReadStats
from pullguard.sources.yamldocs import DocumentReader, ShouldBuild, decode_text

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"})
MAX_FILE_BYTES = 256 * 1024 * 1024
STDIN = "-"
# pullguard's own configuration (config.py) is not a manifest
CONFIG_FILES = frozenset({".pullguard.yaml", ".pullguard.yml"})


def discover(paths: Iterable[str]) -> list[str]:
    """Files to read, in a stable order: named files as given, directories recursively.

    A named file is read whatever its suffix (as kubectl does); inside directories
    only .yaml, .yml and .json files are read. Raises InputError for a path that
    does not exist.
    """
    found: list[str] = []
    for path in paths:
        if path == STDIN:
            found.append(STDIN)
            continue
        if os.path.isdir(path):
            walked: list[str] = []
            for directory, subdirectories, files in os.walk(path):
                subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
                walked.extend(
                    os.path.join(directory, name)
                    for name in sorted(files)
                    if name.endswith(MANIFEST_SUFFIXES) and name not in CONFIG_FILES
                )
            # kubectl's order (filepath.Walk): entries by name, a directory's files where it sorts.
            found.extend(sorted(walked, key=lambda file: os.path.relpath(file, path).split(os.sep)))
        elif os.path.exists(path) or os.path.islink(path):
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return found


@dataclass(slots=True)
class FileSource:
    """Reads manifest files into Manifests; problems and counts accumulate on the source.

    A pipeline source (`pipeline.Source`) for `paths`; standard input (`-`) is read once.
    """

    should_build: ShouldBuild
    stats: ReadStats = field(default_factory=ReadStats)
    problems: list[InputProblem] = field(default_factory=list)
    # called with (files done, files in all) before each file: progress on long scans
    progress: Callable[[int, int], None] | None = None
    paths: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        return "standard input" if self.paths == (STDIN,) else "files"

    @property
    def context(self) -> bool:
        return False

    @property
    def live(self) -> bool:
        return False

    def read(self, paths: Iterable[str] | None = None) -> Iterator[Manifest]:
        reader = DocumentReader(self.should_build, self.stats, self.problems)
        files = discover(self.paths if paths is None else paths)
        for index, path in enumerate(files):
            if self.progress is not None:
                self.progress(index, len(files))
            text = self._read_file(path)
            if text is not None:
                yield from reader.read_text(path, text)

    def _read_file(self, path: str) -> str | None:
        self.stats.files += 1
        where = Location(path, 0, 0)
        try:
            if path == STDIN:
                data = sys.stdin.buffer.read()
            else:
                size = Path(path).stat().st_size
                if size > MAX_FILE_BYTES:
                    self._file_problem(
                        where, "too-large", f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"
                    )
                    return None
                data = Path(path).read_bytes()
        except OSError as error:
            self._file_problem(where, "unreadable-file", f"cannot read the file: {error.strerror or error}")
            return None
        try:
            return decode_text(data)
        except UnicodeDecodeError as error:
            self._file_problem(
                where,
                "encoding",
                f"not UTF-8 text (byte {error.start}); pullguard reads UTF-8, and UTF-16/32 with a byte-order mark",
            )
            return None

    def _file_problem(self, where: Location, code: str, message: str) -> None:
        self.problems.append(InputProblem(where, Level.ERROR, code, message))
