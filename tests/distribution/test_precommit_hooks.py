"""The pre-commit hooks of .pre-commit-hooks.yaml, run by `pre-commit try-repo` as a user's repository would.

pre-commit clones this repository (a snapshot of the working tree, so uncommitted edits are
tested too), builds a virtualenv and pip-installs pullguard into it from the package index,
then runs the hook on a fixture repository. One install per session (PRE_COMMIT_HOME), bounded
by timeouts; the only network is the package index.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dist_support import ROOT, clean_env

PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

PUBLIC_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
"""

PRIVATE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers: [{name: api, image: registry.example.com/shop/api:1.0}]
"""

# in another file: the ServiceAccount that gives the pod its pull secret, and the pull secret
SERVICE_ACCOUNT = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: shop}
imagePullSecrets: [{name: regcred}]
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env=clean_env(**GIT_ENV), timeout=60
    )


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's working tree (tracked and new files) as a committed git repository."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: pre-commit installs hooks from a git repository")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.split(b"\0")
    snapshot = tmp_path_factory.mktemp("hook-repo")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git(snapshot, "init", "-q")
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "-m", "snapshot")
    return snapshot


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(
    hook_repo: Path, home: Path, project: Path, hook: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(hook_repo), hook, "--color", "never", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(PRE_COMMIT_HOME=str(home), **GIT_ENV),
    )


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    return tmp_path


def test_hook_manifest_is_valid() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"pullguard", "pullguard-changed"}
    assert hooks["pullguard"]["pass_filenames"] is False  # the whole repository: cross-file references hold
    assert hooks["pullguard-changed"].get("pass_filenames", True) is True
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["entry"] == "pullguard --quiet scan"
    done = subprocess.run(
        [PRE_COMMIT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_try_repo_fails_on_a_finding_and_reads_the_whole_repository(
    hook_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    repo = project(
        tmp_path,
        {
            "k8s/web.yaml": PUBLIC_DEPLOYMENT,
            "k8s/api.yaml": PRIVATE_DEPLOYMENT,
            "k8s/sa.yaml": SERVICE_ACCOUNT,
        },
    )
    done = try_repo(hook_repo, pre_commit_home, repo, "pullguard", "--all-files")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "pullguard (image pull credentials)" in done.stdout
    assert "Failed" in done.stdout and "- exit code: 1" in done.stdout
    # every manifest was read: the ServiceAccount in sa.yaml gives the pod in api.yaml its pull secret
    assert "3 files, 3 documents" in done.stdout
    assert "PG002" in done.stdout and "'regcred'" in done.stdout


@pytest.fixture(scope="session")
def hooks_config(hook_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A user's .pre-commit-config.yaml for both hooks at the snapshot's commit (installed once, cached)."""
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hook_repo, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    return yaml.safe_dump(
        {
            "repos": [
                {
                    "repo": str(hook_repo),
                    "rev": rev,
                    "hooks": [{"id": "pullguard"}, {"id": "pullguard-changed"}],
                }
            ]
        }
    )


def run_hook(home: Path, repo: Path, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRE_COMMIT, "run", hook, "--color", "never", "--verbose", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(PRE_COMMIT_HOME=str(home), **GIT_ENV),
    )


def test_clean_repository_passes(hooks_config: str, pre_commit_home: Path, tmp_path: Path) -> None:
    repo = project(tmp_path, {".pre-commit-config.yaml": hooks_config, "k8s/web.yaml": PUBLIC_DEPLOYMENT})
    done = run_hook(pre_commit_home, repo, "pullguard", "--all-files")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Passed" in done.stdout and "0 of 0 private images" in done.stdout


def test_runs_only_when_a_manifest_changed(hooks_config: str, pre_commit_home: Path, tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        {".pre-commit-config.yaml": hooks_config, "k8s/api.yaml": PRIVATE_DEPLOYMENT, "README.md": "# app\n"},
    )
    done = run_hook(pre_commit_home, repo, "pullguard", "--files", "README.md")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "(no files to check)" in done.stdout and "Skipped" in done.stdout


def test_changed_files_hook_reads_only_them(hooks_config: str, pre_commit_home: Path, tmp_path: Path) -> None:
    repo = project(
        tmp_path,
        {
            ".pre-commit-config.yaml": hooks_config,
            "k8s/api.yaml": PRIVATE_DEPLOYMENT,
            "k8s/sa.yaml": SERVICE_ACCOUNT,
        },
    )
    whole = run_hook(pre_commit_home, repo, "pullguard", "--files", "k8s/api.yaml")
    assert whole.returncode == 1 and "PG002" in whole.stdout
    changed = run_hook(pre_commit_home, repo, "pullguard-changed", "--files", "k8s/api.yaml")
    # only api.yaml was read: without sa.yaml the pod has no pull secret, and the registry's
    # visibility is unknown, so there is nothing to report; the trade-off .pre-commit-hooks.yaml states
    assert changed.returncode == 0, changed.stdout[-3000:]
    assert "1 file, 1 document," in changed.stdout and "1 unknown registry" in changed.stdout
