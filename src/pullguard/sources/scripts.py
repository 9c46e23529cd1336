"""The script source: literal registry passwords in shell scripts and CI files next to the manifests.

`kubectl create secret docker-registry NAME --docker-password=LITERAL` in a
committed script puts the registry password in the repository as surely as a
Secret manifest does (PG010). This source finds such commands in shell scripts,
Makefiles and CI definitions under the scanned directories and records where
they are; the password itself is never kept, returned or logged. A value that
the shell or the CI expands (`$VAR`, `"${VAR}"`, `$(cat file)`, backticks,
`${{ secrets.X }}`) or a placeholder (`<password>`) is not a literal.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pullguard.sources.files import SKIPPED_DIRECTORIES, STDIN
from pullguard.sources.model import (
    COMMITTED_CREDENTIAL,
    SCRIPT_API_VERSION,
    CommittedCredential,
    InputProblem,
    Location,
    Manifest,
    ReadStats,
)

# File names (globs over the name, or over the path's last two parts) that hold commands.
SCRIPT_NAMES = (
    "*.sh",
    "*.bash",
    "*.zsh",
    "*.ksh",
    "Makefile",
    "GNUmakefile",
    "makefile",
    "*.mk",
    "Jenkinsfile",
    "*.jenkinsfile",
    "*.groovy",
    "Dockerfile",
    "Taskfile.yml",
    "Taskfile.yaml",
    "justfile",
    ".gitlab-ci.yml",
    "*.gitlab-ci.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "azure-pipelines.yaml",
    "bitbucket-pipelines.yml",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    ".drone.yml",
    "buildspec.yml",
)
SCRIPT_PATHS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".circleci/config.yml",
    ".tekton/*.yaml",
)
MAX_SCRIPT_BYTES = 4 * 1024 * 1024

_COMMAND = re.compile(r"\b(kubectl|oc)\b[^\n]*?\bcreate\s+secret\s+docker-registry\b")
_PASSWORD_FLAG = "--docker-password"


_NAME_RE = re.compile("|".join(fnmatch.translate(p) for p in SCRIPT_NAMES))
_PATH_RE = re.compile("|".join(fnmatch.translate("*" + p) for p in SCRIPT_PATHS))


def is_script(path: str) -> bool:
    name = os.path.basename(path)
    if _NAME_RE.match(name):
        return True
    # CI directories (.github/workflows, .circleci, .tekton) are rare: test the path only then
    return "." in path and _PATH_RE.match(path.replace(os.sep, "/")) is not None


def discover_scripts(paths: Iterable[str]) -> list[str]:
    """Script and CI files under the scanned directories (and named files that are scripts)."""
    found: list[str] = []
    for path in paths:
        if path == STDIN:
            continue
        if os.path.isdir(path):
            for directory, subdirectories, files in os.walk(path):
                subdirectories[:] = sorted(
                    d for d in subdirectories if d not in SKIPPED_DIRECTORIES or d == ".github"
                )
                found.extend(
                    os.path.join(directory, n) for n in sorted(files) if is_script(os.path.join(directory, n))
                )
        elif os.path.isfile(path) and is_script(path):
            found.append(path)
    return found


def committed_credentials(paths: Iterable[str]) -> list[CommittedCredential]:
    """Every `create secret docker-registry` with a literal password in the scripts under `paths`."""
    found: list[CommittedCredential] = []
    for path in discover_scripts(paths):
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SCRIPT_BYTES:
                continue  # never opened: a FIFO would block, a device never ends
            with open(path, "rb") as handle:
                data = handle.read(MAX_SCRIPT_BYTES + 1)
        except OSError:
            continue
        if len(data) > MAX_SCRIPT_BYTES:
            continue
        if b"docker-registry" not in data:
            continue
        text = data.decode("utf-8", errors="replace")
        found.extend(find_in_text(path, text))
    return found


def find_in_text(path: str, text: str) -> Iterator[CommittedCredential]:
    for line_number, command in _logical_lines(text):
        match = _COMMAND.search(command)
        if match is None:
            continue
        record = _literal_password_command(command[match.start() :], match.group(1))
        if record is not None:
            name, namespace, server = record
            yield CommittedCredential(
                Location(path, 1, line_number),
                f"{match.group(1)} create secret docker-registry",
                name,
                namespace,
                server,
            )


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, and YAML folded `--flag` lines that follow a command."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index
        parts = [lines[index]]
        while parts[-1].rstrip().endswith("\\") and index + 1 < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            index += 1
            parts.append(lines[index])
        if "docker-registry" in " ".join(parts):
            while index + 1 < len(lines) and lines[index + 1].strip().startswith("--"):
                index += 1
                parts.append(lines[index].rstrip().removesuffix("\\"))
        yield start + 1, " ".join(parts)
        index += 1


def _tokens(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:  # unbalanced quotes: a rough split still finds the flags
        return command.split()


def _literal_password_command(command: str, tool: str) -> tuple[str | None, str | None, str | None] | None:
    tokens = _tokens(command)
    password: str | None = None
    name = namespace = server = None
    after_type = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        value: str | None = None
        flag = token
        if token.startswith("--") and "=" in token:
            flag, value = token.split("=", 1)
        elif token.startswith("-") and index + 1 < len(tokens):
            value = tokens[index + 1]
        if flag == _PASSWORD_FLAG:
            password = value
        elif flag in ("-n", "--namespace"):
            namespace = value
        elif flag == "--docker-server":
            server = value
        elif token == "docker-registry":
            after_type = True
        elif after_type and name is None and not token.startswith("-"):
            name = token
        if (
            flag.startswith("-")
            and "=" not in token
            and flag
            in (_PASSWORD_FLAG, "-n", "--namespace", "--docker-server", "--docker-username", "--docker-email")
        ):
            index += 1
        if token in ("&&", "||", ";", "|"):
            break
        index += 1
    if password is None or not is_literal(password):
        return None
    del password
    return _plain(name), _plain(namespace), _plain(server)


def _plain(value: str | None) -> str | None:
    return value if value is not None and is_literal(value) else None


def is_literal(value: str) -> bool:
    """A value written out in the file, not one the shell or the CI system fills in."""
    stripped = value.strip().strip("'\"")
    if not stripped:
        return False
    if any(marker in stripped for marker in ("$", "`", "{{", "%")):
        return False
    if stripped.startswith("<") and stripped.endswith(">"):
        return False
    return not set(stripped) <= {"*", "x", "X", "."}


@dataclass(slots=True)
class ScriptSource:
    """Scripts and CI files next to the manifests, as a pipeline source (`pipeline.Source`):
    each literal registry password found becomes a `CommittedCredential` object (PG010);
    the value itself is never kept."""

    paths: tuple[str, ...]
    stats: ReadStats = field(default_factory=ReadStats)  # scripts are not counted as manifests
    problems: list[InputProblem] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return "scripts"

    @property
    def context(self) -> bool:
        return False

    @property
    def live(self) -> bool:
        return False

    def read(self) -> Iterator[Manifest]:
        for record in committed_credentials(self.paths):
            yield Manifest(
                SCRIPT_API_VERSION,
                COMMITTED_CREDENTIAL,
                record.secret or "",
                record.namespace,
                {"record": record},
                record.location,
            )
