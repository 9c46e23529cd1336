"""`verify` at parity with `scan`: the one configuration, every format, --fail-on, live clusters.

No registry is needed here: the images are decided without one (a malformed pull secret fails
every pull of the pod; node credentials are not checked), or sent to a closed loopback port.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from apiserver_double import ApiServerDouble
from cluster.fixtures import shop_cluster
from cluster.test_cluster_scan import assert_no_canary, run, write_kubeconfig
from pullguard.cli import main

BROKEN = """\
apiVersion: v1
kind: Secret
metadata: {name: broken, namespace: shop}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: bm90IGpzb24=}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      imagePullSecrets: [{name: broken}]
      containers: [{name: app, image: registry.corp.example/shop/web:1.0}]
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("junit", "<testsuites"), ("markdown", "### pullguard verify"), ("html", "<!doctype html>")],
)
def test_verify_renders_every_format(tmp_path: Path, fmt: str, marker: str) -> None:
    (tmp_path / "app.yaml").write_text(BROKEN, encoding="utf-8")
    done = CliRunner().invoke(main, ["verify", str(tmp_path), "-f", fmt])
    assert done.exit_code == 1, done.output
    assert marker in done.output[:300]
    assert "broken-secret" in done.output
    if fmt == "junit":
        root = ET.fromstring(done.output.split("?>", 1)[1])
        assert root.find("testsuite").get("failures") == "1"  # type: ignore[union-attr]


def test_verify_output_extension_chooses_the_format(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(BROKEN, encoding="utf-8")
    out = tmp_path / "verify.sarif"
    done = CliRunner().invoke(main, ["verify", str(tmp_path / "app.yaml"), "-o", str(out)])
    assert done.exit_code == 1
    assert (
        json.loads(out.read_text(encoding="utf-8"))["runs"][0]["results"][0]["ruleId"]
        == "verify/broken-secret"
    )


def test_verify_fail_on_gates_scan_findings_too(tmp_path: Path) -> None:
    """An image covered by node credentials is not checked (exit 0); with --fail-on the scan's
    own findings (here PG016: the namespace has no Pod Security label) count as for scan."""
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
        + BROKEN.split("---\n", 1)[1].replace("      imagePullSecrets: [{name: broken}]\n", ""),
        encoding="utf-8",
    )
    (tmp_path / ".pullguard.yaml").write_text(
        "nodeCredentials: [{registry: registry.corp.example}]\n", encoding="utf-8"
    )
    plain = CliRunner().invoke(main, ["verify", str(tmp_path), "-f", "json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output)["results"][0]["outcome"] == "not-checked"
    gated = CliRunner().invoke(main, ["verify", str(tmp_path), "-f", "json", "--fail-on", "medium"])
    assert gated.exit_code == 1


def test_verify_a_live_cluster(tmp_path: Path) -> None:
    port = closed_port()
    with ApiServerDouble(shop_cluster()) as api:
        kubeconfig = write_kubeconfig(tmp_path / "k", api.kubeconfig("prod"))
        result = run(
            "verify",
            "--cluster",
            "-A",
            "--kubeconfig",
            kubeconfig,
            "-f",
            "json",
            "--connect-to",
            f"registry.example.com:443:127.0.0.1:{port}",
            "--connect-timeout",
            "1",
            "--deadline",
            "20",
        )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    owners = {r["object"]["name"] for r in report["results"]}
    assert {"web", "idle", "backup-0"} <= owners
    outcomes = {r["outcome"] for r in report["results"]}
    assert "unreachable" in outcomes
    assert_no_canary(result.stdout + result.stderr)


def test_verify_refuses_several_contexts(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["verify", "--context", "a", "--context", "b"])
    assert done.exit_code == 2
    assert "one --context" in done.output


NODE_PULLED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cached, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: node.corp.example/shop/cached:1.0}]
"""


@pytest.mark.parametrize(
    ("files", "headline", "total"),
    [
        # one image asked about (the broken secret decides it), one pulled with node credentials
        (
            [BROKEN, NODE_PULLED],
            "0 of 1 checked images can be pulled with the credentials the kubelet would use; "
            "1 more was not checked.",
            "2 images (1 broken-secret, 1 not-checked)",
        ),
        ([BROKEN], "0 of 1 images can be pulled with the credentials the kubelet would use.", "1 image ("),
        ([NODE_PULLED], "The image could not be checked.", "1 image (1 not-checked)"),
    ],
)
def test_verify_headline_counts_add_up_to_the_total(
    tmp_path: Path, files: list[str], headline: str, total: str
) -> None:
    """The README once showed `0 of 17 images ...` then `19 images (...)`, the 2 not checked in neither
    explanation: the headline now says which images its count holds and how many it leaves out."""
    for index, text in enumerate(files):
        (tmp_path / f"app-{index}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / ".pullguard.yaml").write_text(
        "nodeCredentials: [{registry: node.corp.example}]\n", encoding="utf-8"
    )
    text = CliRunner().invoke(main, ["verify", str(tmp_path), "--no-color"], env={"COLUMNS": "200"})
    assert text.output.splitlines()[0] == headline, text.output
    assert text.output.splitlines()[1].startswith(total), text.output
    report = json.loads(CliRunner().invoke(main, ["verify", str(tmp_path), "-f", "json"]).output)
    assert report["summary"]["line"] == headline
