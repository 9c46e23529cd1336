"""The Dockerfile, checked statically (no container engine here): scripts/check_dockerfile.py.

The real Dockerfile passes; each mutation a reviewer would reject is caught, with its line.
`make image` runs the same check before building where a builder exists.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dist_support import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import check_dockerfile

sys.path.remove(str(ROOT / "scripts"))

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def problems_of(tmp_path: Path, text: str, ignore: str | None = None) -> list[str]:
    (tmp_path / "Dockerfile").write_text(text)
    (tmp_path / ".dockerignore").write_text(
        ignore if ignore is not None else (ROOT / ".dockerignore").read_text()
    )
    return check_dockerfile.check(tmp_path / "Dockerfile")


def test_the_dockerfile_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_dockerfile.py"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "ok (multi-stage, pinned base, non-root numeric USER" in done.stdout


def test_the_dockerfile_shape() -> None:
    steps = check_dockerfile.instructions(DOCKERFILE)
    final = steps[max(i for i, s in enumerate(steps) if s.keyword == "FROM") :]
    assert [s.arguments for s in final if s.keyword == "USER"] == ["65532:65532"]
    assert [s.arguments for s in final if s.keyword == "ENTRYPOINT"] == ['["pullguard"]']
    # the cluster extra is installed: the image also scans the cluster it runs in
    assert any(s.keyword == "RUN" and '"${wheel}[cluster]"' in s.arguments for s in steps)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("USER 65532:65532", "USER 0", "runs as root"),
        ("USER 65532:65532", "USER nobody", "numeric UID"),
        ("USER 65532:65532\n", "", "no USER"),
        ("python:3.12.8-slim-bookworm", "python:latest", "not pinned (latest)"),
        ("python:3.12.8-slim-bookworm", "python:3.12-slim", "not pinned"),
        ("python:3.12.8-slim-bookworm", "python", "not pinned (latest)"),
        (
            "    PIP_NO_CACHE_DIR=1",
            "    PIP_NO_CACHE_DIR=1 \\\n    REGISTRY_PASSWORD=hunter2",
            "REGISTRY_PASSWORD: a secret",
        ),
        ("ARG PYTHON_IMAGE=", "ARG GITHUB_TOKEN=x\nARG PYTHON_IMAGE=", "GITHUB_TOKEN: a secret"),
        ("COPY dist/pullguard-*.whl /tmp/wheels/", "COPY . /src/", "copies the wheel"),
        (
            "COPY --from=build /opt/pullguard /opt/pullguard",
            "COPY kubeconfig /root/.kube/config",
            "kubeconfig",
        ),
        ("    PYTHONDONTWRITEBYTECODE=1 \\\n", "", "PYTHONDONTWRITEBYTECODE"),
        ('ENTRYPOINT ["pullguard"]', "ENTRYPOINT pullguard", "shell form"),
        ("RUN python -m venv", "ADD https://example.com/get.sh /tmp/\nRUN python -m venv", "remote URL"),
        (
            "RUN python -m venv",
            "RUN pip download https://u:p4ss@pypi.corp.example/x\nRUN python -m venv",
            "in a URL",
        ),
    ],
)
def test_each_mutation_is_caught(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in DOCKERFILE
    problems = problems_of(tmp_path, DOCKERFILE.replace(old, new))
    assert any(expected in p for p in problems), problems


def test_single_stage_is_caught(tmp_path: Path) -> None:
    single = "FROM python:3.12.8-slim-bookworm\nCOPY dist/pullguard-*.whl /tmp/\nUSER 65532\n"
    problems = problems_of(tmp_path, single)
    assert any("not multi-stage" in p for p in problems)


def test_dockerignore_admits_only_the_wheel(tmp_path: Path) -> None:
    assert problems_of(tmp_path, DOCKERFILE) == []
    problems = problems_of(tmp_path, DOCKERFILE, ignore=".git\n.venv\n")
    assert any(".dockerignore" in p for p in problems)


def test_make_image_without_a_builder_says_so() -> None:
    if shutil.which("podman") or (
        shutil.which("docker")
        and subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0
    ):
        pytest.skip("a container builder is available here: `make image` would build")
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "image", "-o", ".venv/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode != 0  # asked for an image, got none: not a success
    assert "Dockerfile: ok" in done.stdout  # the static check ran first
    assert "no container builder" in done.stdout and "the image was not built" in done.stdout
    assert list((ROOT / "dist").glob("pullguard-*.whl"))  # the wheel the Dockerfile copies was built
