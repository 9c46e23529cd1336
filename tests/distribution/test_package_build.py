"""The release artefacts: a clean sdist and wheel, complete metadata, the license, the entry points."""

from __future__ import annotations

import re
import subprocess
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

from dist_support import ROOT, Built, clean_env

import pullguard


def metadata(built: Built) -> tuple[dict[str, list[str]], str]:
    with zipfile.ZipFile(built.wheel) as wheel:
        text = wheel.read(f"pullguard-{pullguard.__version__}.dist-info/METADATA").decode()
    message = Parser().parsestr(text)
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, text


def test_build_has_no_deprecation_warnings(built: Built) -> None:
    # the old `license = {text = ...}` table made setuptools warn: "License classifiers are deprecated",
    # "project.license as a TOML table is deprecated"
    lines = [line for line in built.log.splitlines() if re.search(r"deprecat|warning", line, re.IGNORECASE)]
    assert lines == []


def test_license_is_spdx_with_the_full_text(built: Built) -> None:
    fields, _ = metadata(built)
    assert fields["Metadata-Version"] == ["2.4"]
    assert fields["License-Expression"] == ["Apache-2.0"]
    assert fields["License-File"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in fields["Classifier"])  # PEP 639: the expression only
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text and "APPENDIX: How to apply" in license_text
    with zipfile.ZipFile(built.wheel) as wheel:
        assert (
            wheel.read(f"pullguard-{pullguard.__version__}.dist-info/licenses/LICENSE").decode()
            == license_text
        )
    with tarfile.open(built.sdist) as sdist:
        member = sdist.extractfile(f"pullguard-{pullguard.__version__}/LICENSE")
        assert member is not None and member.read().decode() == license_text


def test_metadata_for_an_index(built: Built) -> None:
    fields, text = metadata(built)
    assert fields["Name"] == ["pullguard"] and fields["Version"] == [pullguard.__version__]
    assert fields["Requires-Python"] == [">=3.11"]
    urls = dict(u.split(", ", 1) for u in fields["Project-URL"])
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    classifiers = set(fields["Classifier"])
    assert {"Programming Language :: Python :: 3.11", "Topic :: Security", "Typing :: Typed"} <= classifiers
    assert fields["Description-Content-Type"] == ["text/markdown"]
    assert "## Install" in text  # the README is the long description


def test_the_cluster_client_is_an_extra(built: Built) -> None:
    fields, _ = metadata(built)
    requires = fields["Requires-Dist"]
    base = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith("kubernetes") for r in base)
    assert 'kubernetes>=31; extra == "cluster"' in requires
    assert "cluster" in fields["Provides-Extra"]
    # `make test` installs `.[test]`: it must bring the cluster client the tests of tests/cluster use
    assert 'pullguard[cluster]; extra == "test"' in requires


def test_wheel_contents_and_entry_points(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(f"pullguard-{pullguard.__version__}.dist-info/entry_points.txt").decode()
    assert {"pullguard/py.typed", "pullguard/data/report.schema.json", "pullguard/cli.py"} <= names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    assert "pullguard = pullguard.cli:main" in entry_points
    assert "kubectl-pullguard = pullguard.cli:kubectl_main" in entry_points


def test_pipx_install_runs_a_file_scan(pipx_bin: Path) -> None:
    """`pipx install` of the wheel: `pullguard scan examples/` works without the cluster extra."""
    env = clean_env(PATH=f"{pipx_bin}:{clean_env()['PATH']}")
    version = subprocess.run(["pullguard", "-V"], capture_output=True, text=True, env=env, timeout=60)
    assert version.stdout.strip() == f"pullguard, version {pullguard.__version__}"
    scan = subprocess.run(
        ["pullguard", "scan", "examples/"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
    )
    assert scan.returncode == 1, scan.stderr  # the examples have findings
    assert re.match(r"\d+ of \d+ private images have pull credentials configured\.", scan.stdout)
    # the pipx venv has no Kubernetes client: a cluster scan says how to get it, exit 2
    live = subprocess.run(
        ["pullguard", "scan", "--cluster"], capture_output=True, text=True, env=env, timeout=60
    )
    assert live.returncode == 2
    assert "pullguard[cluster]" in live.stderr and "Traceback" not in live.stderr
