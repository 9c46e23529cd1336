"""The scan step of the GitHub Action (action.yml): inputs from INPUT_* variables, outputs to GITHUB_OUTPUT.

Runs `pullguard --quiet scan PATHS --format FORMAT -o OUTPUT --fail-on FAIL_ON ARGS`, then,
when INPUT_SUMMARY is true and GITHUB_STEP_SUMMARY is set, appends the Markdown report to the
job summary. Writes `exit-code` and `report` to GITHUB_OUTPUT and exits with pullguard's exit
code, so the step fails on findings (make the upload step `if: always()`).

Runs with any Python >= 3.11 and the standard library only; `pullguard` is found on PATH.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping

USAGE_ERROR = 2
TRUE = ("true", "1", "yes", "on")


def command(env: Mapping[str, str], executable: str) -> list[str]:
    paths = env.get("INPUT_PATHS", "").split() or ["."]
    argv = [executable, "--quiet", "scan", *paths]
    argv += ["--format", env.get("INPUT_FORMAT") or "sarif"]
    argv += ["--output", env.get("INPUT_OUTPUT") or "pullguard.sarif"]
    argv += ["--fail-on", env.get("INPUT_FAIL_ON") or "low"]
    argv += shlex.split(env.get("INPUT_ARGS", ""))
    return argv


def set_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    target = env.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            handle.write(f"{key}={value}\n")


def summarise(env: Mapping[str, str], argv: list[str]) -> None:
    """The Markdown report of the same scan, appended to the job summary (never fails the step)."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target or env.get("INPUT_SUMMARY", "true").strip().lower() not in TRUE:
        return
    markdown = list(argv)
    index = markdown.index("--format")
    markdown[index + 1] = "markdown"
    index = markdown.index("--output")
    markdown[index + 1] = target + ".part"
    subprocess.run(markdown, check=False, stdout=subprocess.DEVNULL)
    try:
        with open(target + ".part", encoding="utf-8") as part, open(target, "a", encoding="utf-8") as summary:
            summary.write(part.read())
        os.remove(target + ".part")
    except OSError as error:
        print(f"pullguard action: no job summary: {error}", file=sys.stderr)


def main(env: Mapping[str, str] = os.environ) -> int:
    executable = shutil.which("pullguard", path=env.get("PATH"))
    if executable is None:
        print("pullguard action: `pullguard` is not on PATH (the install step failed?)", file=sys.stderr)
        set_outputs(env, {"exit-code": str(USAGE_ERROR), "report": ""})
        return USAGE_ERROR
    try:
        argv = command(env, executable)
    except ValueError as error:  # shlex: unbalanced quotes in INPUT_ARGS
        print(f"pullguard action: input 'args' cannot be split: {error}", file=sys.stderr)
        set_outputs(env, {"exit-code": str(USAGE_ERROR), "report": ""})
        return USAGE_ERROR
    print("+ " + shlex.join(["pullguard", *argv[1:]]), flush=True)
    code = subprocess.run(argv, check=False).returncode
    report = argv[argv.index("--output") + 1]
    set_outputs(env, {"exit-code": str(code), "report": report})
    if code in (0, 1):
        summarise(env, argv)
    return code


if __name__ == "__main__":
    sys.exit(main())
