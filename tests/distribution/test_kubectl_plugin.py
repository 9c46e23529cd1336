"""`kubectl pullguard`: the kubectl-pullguard entry point on PATH, and the krew manifest and archive.

kubectl runs any executable named kubectl-NAME on PATH as `kubectl NAME`
(https://kubernetes.io/docs/tasks/extend-kubectl/kubectl-plugins/); krew installs a plugin from
a manifest whose archive's sha256 it checks. kubectl is a system binary: these tests are marked
`system` (skipped by `make check`), and skip without it (fail under CI=true).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from dist_support import ROOT, Built, clean_env

import pullguard

sys.path.insert(0, str(ROOT / "scripts"))
import krew_archive

sys.path.remove(str(ROOT / "scripts"))

MANIFEST = yaml.safe_load((ROOT / "plugins" / "pullguard.yaml").read_text())


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("kubectl is missing under CI: https://kubernetes.io/docs/tasks/tools/")
        pytest.skip("kubectl is not installed (https://kubernetes.io/docs/tasks/tools/)")
    return found


def run_kubectl(path: str, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl(), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(PATH=path, HOME=str(home), KUBECONFIG=str(home / "no-kubeconfig"), **env),
    )


@pytest.mark.system
def test_kubectl_runs_the_installed_entry_point(pipx_bin: Path, tmp_path: Path) -> None:
    path = f"{pipx_bin}:{clean_env()['PATH']}"
    listed = run_kubectl(path, tmp_path, "plugin", "list")
    assert str(pipx_bin / "kubectl-pullguard") in listed.stdout, listed.stdout + listed.stderr
    helped = run_kubectl(path, tmp_path, "pullguard", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: kubectl pullguard [OPTIONS] COMMAND [ARGS]...")
    assert "scan" in helped.stdout and "doctor" in helped.stdout
    scan_help = run_kubectl(path, tmp_path, "pullguard", "scan", "--help")
    assert scan_help.stdout.startswith("Usage: kubectl pullguard scan [OPTIONS] [PATHS]...")
    version = run_kubectl(path, tmp_path, "pullguard", "-V")
    assert version.stdout.strip() == f"pullguard, version {pullguard.__version__}"
    scan = run_kubectl(path, tmp_path, "pullguard", "scan", "examples/")
    assert scan.returncode == 1, scan.stderr  # findings, as `pullguard scan examples/`
    assert re.match(r"\d+ of \d+ private images have pull credentials configured\.", scan.stdout)


def test_krew_manifest(tmp_path: Path) -> None:
    assert MANIFEST["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert MANIFEST["kind"] == "Plugin" and MANIFEST["metadata"]["name"] == "pullguard"
    spec = MANIFEST["spec"]
    assert spec["version"] == f"v{pullguard.__version__}"
    assert len(spec["shortDescription"]) <= 50
    (platform,) = spec["platforms"]
    name = krew_archive.archive_name()
    assert (
        platform["uri"]
        == f"https://github.com/pullguard/pullguard/releases/download/{spec['version']}/{name}"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", platform["sha256"])
    assert platform["bin"] == "kubectl-pullguard"
    with zipfile.ZipFile(krew_archive.build(tmp_path)) as archive:
        members = set(archive.namelist())
    assert {f["from"] for f in platform["files"]} <= members
    shim = (ROOT / "plugins" / "kubectl-pullguard").read_text()
    # the launcher runs this release
    assert f'"${{PULLGUARD_SPEC:-pullguard[cluster]=={pullguard.__version__}}}"' in shim


def test_krew_archive_is_reproducible_and_matches_the_manifest(tmp_path: Path) -> None:
    first = krew_archive.build(tmp_path / "a")
    second = krew_archive.build(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    # change plugins/kubectl-pullguard or LICENSE, and `make krew-archive` gives the new sha256 here
    assert krew_archive.sha256(first) == MANIFEST["spec"]["platforms"][0]["sha256"]


def install_as_krew(tmp_path: Path) -> Path:
    """Unpack the archive as krew does (files from/to, the members' modes) into a bin directory."""
    bin_dir = tmp_path / "krew-bin"
    bin_dir.mkdir()
    archive_path = krew_archive.build(tmp_path / "dist")
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            target = bin_dir / info.filename
            target.write_bytes(archive.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16))
    return bin_dir


@pytest.mark.system
def test_krew_launcher_runs_pullguard_through_pipx(built: Built, tmp_path: Path) -> None:
    bin_dir = install_as_krew(tmp_path)
    pipx_dir = tmp_path / "pipx-only"
    pipx_dir.mkdir()
    (pipx_dir / "pipx").symlink_to(Path(sys.executable).parent / "pipx")
    path = f"{bin_dir}:{pipx_dir}:{clean_env()['PATH']}"
    helped = run_kubectl(
        path,
        tmp_path,
        "pullguard",
        "--help",
        PULLGUARD_SPEC=str(built.wheel),
        PIPX_HOME=str(tmp_path / "pipx"),
    )
    assert helped.returncode == 0, helped.stderr[-3000:]
    assert helped.stdout.startswith("Usage: kubectl pullguard [OPTIONS] COMMAND [ARGS]...")


@pytest.mark.system
def test_krew_launcher_without_pipx_or_uv_says_what_to_install(tmp_path: Path) -> None:
    bin_dir = install_as_krew(tmp_path)
    bare = tmp_path / "bare"
    bare.mkdir()
    for tool in ("sh", "env"):
        found = shutil.which(tool)
        assert found is not None
        (bare / tool).symlink_to(found)
    done = run_kubectl(f"{bin_dir}:{bare}", tmp_path, "pullguard", "--help")
    assert done.returncode == 127
    assert "needs pipx or uv" in done.stderr and "pipx install 'pullguard[cluster]'" in done.stderr
