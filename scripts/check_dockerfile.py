"""A static check of the container image recipe, for machines without a container builder.

    python scripts/check_dockerfile.py [Dockerfile]     # exit 0 when clean, 1 with one line per problem

What it enforces (each rule names the practice it follows):
- multi-stage: the build tools stay in a build stage, the final stage copies its result
  (`COPY --from=`), and the package comes in as the built wheel (`COPY dist/pullguard-*.whl`);
- every base image pinned: a digest (`@sha256:`) or an exact `X.Y.Z` version tag, never `latest`
  or a floating tag (CIS Docker Benchmark 4.x, reproducible builds);
- the final stage runs as a numeric, non-root user (CIS Docker Benchmark 4.1; Kubernetes Pod
  Security Standards "restricted": runAsNonRoot needs a numeric UID to be verifiable);
- nothing written at run time: PYTHONDONTWRITEBYTECODE=1 in the final stage, so the image runs
  with readOnlyRootFilesystem;
- no secret in the image: no ENV/ARG named like a password, token or key (CWE-798), no
  credentials in a URL, no COPY/ADD of a key, kubeconfig or docker config; no ADD of a remote
  URL (unverified download; use COPY);
- ENTRYPOINT in exec (JSON) form, so signals reach pullguard;
- a .dockerignore that admits only the wheel.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SECRET_NAME = re.compile(
    r"(PASS(WORD|WD)?|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH)", re.IGNORECASE
)
SECRET_FILE = re.compile(
    r"(\.pem|\.key|id_rsa|id_ed25519|kubeconfig|\.kube/|\.docker/config\.json|\.dockerconfigjson|\.env|\.netrc)\b",
    re.IGNORECASE,
)
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
EXACT_TAG = re.compile(r":[^:/@]*\d+\.\d+\.\d+[^:/@]*$")
WHEEL = "dist/pullguard-*.whl"


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined; comments and blank lines dropped."""
    result: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        keyword, _, arguments = joined.partition(" ")
        result.append(Instruction(start, keyword.upper(), arguments.strip()))
        pending = []
    return result


def key_values(arguments: str) -> dict[str, str]:
    """ENV/ARG `KEY=value KEY2=value` (or the legacy `KEY value`) as a mapping."""
    if "=" not in arguments.split(" ", 1)[0]:
        key, _, value = arguments.partition(" ")
        return {key: value.strip()}
    pairs: dict[str, str] = {}
    for token in re.findall(r'(\S+?=(?:"[^"]*"|\S*))', arguments):
        key, _, value = token.partition("=")
        pairs[key] = value.strip('"')
    return pairs


def substitute(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


def check(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text()
    steps = instructions(text)
    problems: list[str] = []

    def problem(step: Instruction | None, message: str) -> None:
        where = f"{dockerfile}:{step.line}" if step else str(dockerfile)
        problems.append(f"{where}: {message}")

    global_args: dict[str, str] = {}
    stages: list[list[Instruction]] = []
    names: set[str] = set()
    for step in steps:
        if step.keyword == "ARG" and not stages:
            global_args.update(key_values(step.arguments))
        if step.keyword == "FROM":
            stages.append([])
            words = step.arguments.split()
            if "--platform" in " ".join(words[:1]):
                words = words[1:]
            image = substitute(words[0], global_args)
            if image in names:
                pass  # an earlier stage
            elif "$" in image:
                problem(step, f"base image {words[0]} uses an ARG without a default: it is not pinned")
            elif image.endswith(":latest") or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
                problem(
                    step, f"base image {image} is not pinned (latest): use an exact X.Y.Z tag or a digest"
                )
            elif not (DIGEST.search(image) or EXACT_TAG.search(image.split("@")[0])):
                problem(step, f"base image {image} is not pinned: use an exact X.Y.Z tag or @sha256: digest")
            if len(words) >= 3 and words[1].upper() == "AS":
                names.add(words[2])
        if stages:
            stages[-1].append(step)

    if len(stages) < 2:
        problem(None, "not multi-stage: build in one stage, copy the result into a clean final stage")
    final = stages[-1] if stages else []
    build_steps = [s for stage in stages[:-1] for s in stage]

    users = [s for s in final if s.keyword == "USER"]
    if not users:
        problem(None, "the final stage has no USER: the container would run as root")
    else:
        last = users[-1]
        user, _, group = last.arguments.partition(":")
        if not user.isdigit():
            problem(last, f"USER {last.arguments}: use a numeric UID (runAsNonRoot can only verify a number)")
        elif int(user) == 0 or (group and group.isdigit() and int(group) == 0):
            problem(last, f"USER {last.arguments}: runs as root")

    env: dict[str, str] = {}
    for step in final:
        if step.keyword == "ENV":
            env.update(key_values(step.arguments))
    if env.get("PYTHONDONTWRITEBYTECODE") != "1":
        problem(None, "the final stage does not set PYTHONDONTWRITEBYTECODE=1 (a read-only root filesystem)")

    if not any(s.keyword == "COPY" and WHEEL in s.arguments for s in build_steps):
        problem(
            None, f"no build stage copies the wheel ({WHEEL}); build the image from the released artefact"
        )
    if (
        stages
        and len(stages) >= 2
        and not any(s.keyword == "COPY" and "--from=" in s.arguments for s in final)
    ):
        problem(None, "the final stage copies nothing from the build stage (COPY --from=)")

    for step in steps:
        if step.keyword in ("ENV", "ARG"):
            for key, value in key_values(step.arguments).items():
                if SECRET_NAME.search(key):
                    problem(
                        step, f"{step.keyword} {key}: a secret in the image (CWE-798); mount it at run time"
                    )
                if URL_CREDENTIALS.search(value):
                    problem(step, f"{step.keyword} {key}: credentials in a URL")
        if step.keyword in ("RUN", "COPY", "ADD") and URL_CREDENTIALS.search(step.arguments):
            problem(step, f"{step.keyword}: credentials in a URL")
        if step.keyword in ("COPY", "ADD"):
            sources = [w for w in step.arguments.split() if not w.startswith("--")][:-1]
            for source in sources:
                if SECRET_FILE.search(source):
                    problem(
                        step, f"{step.keyword} {source}: a key, kubeconfig or credential file in the image"
                    )
        if step.keyword == "ADD" and re.search(r"\b(https?|ftp)://", step.arguments):
            problem(step, "ADD of a remote URL: an unverified download; fetch with a checksum, or COPY")
    entrypoints = [s for s in final if s.keyword == "ENTRYPOINT"]
    if not entrypoints:
        problem(None, "the final stage has no ENTRYPOINT")
    for step in entrypoints:
        try:
            form = json.loads(step.arguments)
        except ValueError:
            form = None
        if not (isinstance(form, list) and all(isinstance(w, str) for w in form)):
            problem(step, 'ENTRYPOINT in shell form: use the exec form ["pullguard"] so signals reach it')

    ignore = dockerfile.parent / ".dockerignore"
    lines = [
        line.strip()
        for line in (ignore.read_text().splitlines() if ignore.exists() else [])
        if line.strip() and not line.startswith("#")
    ]
    if not lines or lines[0] not in ("*", "**") or f"!{WHEEL}" not in lines:
        problem(None, f".dockerignore must exclude everything (*) and admit only !{WHEEL}")
    return problems


def main(argv: list[str]) -> int:
    dockerfile = Path(argv[1] if len(argv) > 1 else "Dockerfile")
    problems = check(dockerfile)
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"{dockerfile}: ok (multi-stage, pinned base, non-root numeric USER, no secrets, wheel copied)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
