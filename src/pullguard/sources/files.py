"""The file source: paths, directories and standard input, read like `kubectl apply -R -f`."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import BinaryIO

from pullguard.errors import InputError
from pullguard.sources.model import InputProblem, Level, Location, Manifest, ReadStats
from pullguard.sources.yamldocs import DocumentReader, ShouldBuild, decode_text

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"})
MAX_FILE_BYTES = 256 * 1024 * 1024
STDIN = "-"
# pullguard's own configuration (config.py) is not a manifest
CONFIG_FILES = frozenset({".pullguard.yaml", ".pullguard.yml"})


def discover(paths: Iterable[str], problems: list[InputProblem] | None = None) -> list[str]:
    """Files to read, in a stable order: named files as given, directories recursively.

    A named file is read whatever its suffix and type (as kubectl does: `<(helm template …)` is a
    pipe); inside directories only regular .yaml, .yml and .json files are read. A FIFO, device or
    socket there (or a symlink to one: `evil.yaml -> /dev/zero`) is refused without being opened,
    and a subdirectory that cannot be listed is reported: both become input problems in `problems`.
    Raises InputError for a path that does not exist.
    """
    found: list[str] = []
    for path in paths:
        if path == STDIN:
            found.append(STDIN)
            continue
        if os.path.isdir(path):
            walked: list[tuple[list[str], str]] = []

            def unlistable(error: OSError, root: str = path) -> None:
                _record(
                    problems,
                    str(error.filename or root),
                    "unreadable-directory",
                    f"cannot list the directory: {error.strerror or error}; its manifests are not read",
                )

            for directory, subdirectories, files in os.walk(path, onerror=unlistable):
                subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
                # the directory's place under `path`, as a list of names (computed once per directory)
                parts = [] if directory == path else os.path.relpath(directory, path).split(os.sep)
                for name in sorted(files):
                    if not name.endswith(MANIFEST_SUFFIXES) or name in CONFIG_FILES:
                        continue
                    file = os.path.join(directory, name)
                    refusal = _not_regular(file)
                    if refusal is None:
                        walked.append(([*parts, name], file))
                    else:
                        _record(problems, file, "not-a-regular-file", refusal)
            # kubectl's order (filepath.Walk): entries by name, a directory's files where it sorts.
            walked.sort(key=itemgetter(0))
            found.extend(file for _, file in walked)
        elif os.path.exists(path) or os.path.islink(path):
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return found


def _not_regular(path: str) -> str | None:
    """Why a file found in a directory walk is not read, or None for a regular file."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link to /dev/zero is a device
    except OSError as error:
        return f"cannot read the file: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    what = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else ("a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    )
    return f"{what}, not a regular file: not read in a directory (name it explicitly to read it)"


def _record(problems: list[InputProblem] | None, path: str, code: str, message: str) -> None:
    if problems is not None:
        problems.append(InputProblem(Location(path, 0, 0), Level.ERROR, code, message))


_FIRST_READ = 64 * 1024  # what a read asks for first when the size is not known (pipes, devices)


def read_limited(handle: BinaryIO, limit: int, size: int = 0) -> bytes | None:
    """At most `limit` bytes, or None when there are more: the bytes actually read are bounded,
    whatever the file claims to be (a symlink to /dev/zero, /dev/urandom, an endless pipe).

    `size`, what the file says it holds, is asked for first (one byte more, to see the end);
    then reads twice as large as the last until the end or the limit. A read of `limit + 1`
    bytes at once costs an allocation of that size for every file, however small."""
    want = min(limit + 1, (size + 1) if size > 0 else _FIRST_READ)
    parts: list[bytes] = []
    total = 0
    while want > 0:
        data = handle.read(want)
        if not data:
            break
        parts.append(data)
        total += len(data)
        if total > limit:
            return None
        want = min(limit + 1 - total, max(2 * want, _FIRST_READ))
    return parts[0] if len(parts) == 1 else b"".join(parts)


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
        files = discover(self.paths if paths is None else paths, self.problems)
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
                data = read_limited(sys.stdin.buffer, MAX_FILE_BYTES)
            else:
                with open(path, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size  # the file opened, not a second lookup
                    if size > MAX_FILE_BYTES:
                        self._file_problem(
                            where, "too-large", f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"
                        )
                        return None
                    data = read_limited(handle, MAX_FILE_BYTES, size)
        except OSError as error:
            self._file_problem(where, "unreadable-file", f"cannot read the file: {error.strerror or error}")
            return None
        if data is None:
            self._file_problem(where, "too-large", f"more than {MAX_FILE_BYTES} bytes (the limit): not read")
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
