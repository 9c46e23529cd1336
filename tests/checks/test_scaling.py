"""What grows with the input grows linearly: one credential copied into thousands of namespaces
(the case PG007 exists for), thousands of workloads a single ServiceAccount patch fixes. Each of
these was quadratic once, in time or in the size of the report.

Timings are compared within one test (the same machine, moments apart): eight times the input
may cost about eight times the time, far from the sixty-four a quadratic step would take."""

from __future__ import annotations

import base64
import dataclasses
import gc
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

from pullguard.checks import REGISTRY
from pullguard.pipeline import analyse, collect, run_collected
from pullguard.report import json_report, sarif
from pullguard.scan import ScanOptions, file_sources
from pullguard.semantics.dockerconfig import Credential
from pullguard.semantics.evidence import SecretEvidence

# linear costs give about 8 (8x the input); a quadratic step gives 30 to 60 on these sizes
MAX_GROWTH = 20.0


def _config() -> str:
    auth = base64.b64encode(b"robot:one-password-everywhere").decode()
    return base64.b64encode(
        json.dumps({"auths": {"registry.corp.example": {"auth": auth}}}).encode()
    ).decode()


def _namespaces(path: Path, count: int) -> Path:
    """`count` namespaces, each with the same pull secret and a Deployment using it; plus one
    namespace of `count` Deployments of a private registry no secret covers."""
    config = _config()
    documents: list[str] = []
    for i in range(count):
        team = f"team-{i:05d}"
        documents.append(
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: regcred, namespace: {team}}}\n"
            f"type: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {config}}}\n"
        )
        documents.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app, namespace: {team}}}\nspec:\n"
            "  template:\n    spec:\n      imagePullSecrets: [{name: regcred}]\n"
            "      containers: [{name: app, image: registry.corp.example/team/app:1}]\n"
        )
        documents.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: svc-{i}, namespace: big}}\nspec:\n"
            f"  template:\n    spec:\n      containers: [{{name: app, image: myreg.azurecr.io/big/svc-{i}:1}}]\n"
        )
    path.mkdir(parents=True)
    (path / "all.yaml").write_text("---\n".join(documents), encoding="utf-8")
    return path


def _cpu(work: Callable[[], object]) -> float:
    """The least CPU time of three runs, the garbage collector idle: a full collection of what
    earlier tests left alive would land in one measurement or the other."""
    gc.collect()
    gc.disable()
    try:
        runs = []
        for _ in range(3):
            started = time.process_time()
            work()
            runs.append(time.process_time() - started)
        return min(runs)
    finally:
        gc.enable()


def test_one_credential_in_thousands_of_namespaces_is_judged_in_linear_time(tmp_path: Path) -> None:
    only_reuse = frozenset(REGISTRY) - {"PG007"}
    seconds = []
    for count in (400, 3200):
        collected = collect(file_sources([str(_namespaces(tmp_path / str(count), count))]), ScanOptions())
        options = dataclasses.replace(collected.options, disabled_checks=only_reuse)
        result = analyse(collected.inventory, options)
        assert [f.check_id for f in result.findings] == ["PG007"]
        assert f"one credential in {count} namespaces" in result.findings[0].message
        seconds.append(_cpu(lambda: analyse(collected.inventory, options)))  # noqa: B023
    assert seconds[1] < MAX_GROWTH * seconds[0], seconds


def test_evidence_from_thousands_of_secrets_for_one_registry_is_linear() -> None:
    credential = Credential("robot", "password")

    def entries(count: int) -> list[tuple[str, str, Credential]]:
        return [(f"team-{i:05d}/regcred", "registry.corp.example", credential) for i in range(count)]

    small, large = entries(2500), entries(20000)
    assert SecretEvidence.of(large).private["registry.corp.example"] == tuple(name for name, _, _ in large)
    seconds = [_cpu(lambda: SecretEvidence.of(small)), _cpu(lambda: SecretEvidence.of(large))]
    assert seconds[1] < MAX_GROWTH * max(seconds[0], 1e-4), seconds


def test_a_findings_remediation_restarts_its_own_workload_and_the_plan_restarts_all(tmp_path: Path) -> None:
    """One ServiceAccount patch fixes every workload of the namespace `big`: each finding shows the
    patch and its own restart, the fix plan every restart once. Every finding listing every restart
    made the JSON report and the SARIF log grow with the square of the namespace (217 and 218 MB
    for 3,000 workloads)."""
    sizes: list[int] = []
    sarif_sizes: list[int] = []
    for count in (40, 320):
        result = run_collected(
            collect(file_sources([str(_namespaces(tmp_path / str(count), count))]), ScanOptions())
        )
        out = io.StringIO()
        json_report.write(result, out)
        sizes.append(len(out.getvalue()))
        report = json.loads(out.getvalue())
        big = [f for f in report["findings"] if f["checkId"] == "PG001" and f["object"]["namespace"] == "big"]
        assert len(big) == count
        for finding in big:
            restarts = [line for line in finding["remediation"].splitlines() if "rollout restart" in line]
            assert restarts == [f"kubectl rollout restart deployment/{finding['object']['name']} -n big"]
            assert f"restart the {count - 1} other workloads it serves" in finding["remediation"]
        [plan] = [n for n in report["fixes"] if n["namespace"] == "big"]
        [attach] = [s for s in plan["steps"] if s["action"] == "attach-to-serviceaccount"]
        assert sum("rollout restart" in c for c in attach["commands"]) == count
        sarif_log = sarif.render(result)
        sarif_sizes.append(len(sarif_log))
        for entry in json.loads(sarif_log)["runs"][0]["results"]:
            restarts = [
                line
                for fix in entry.get("fixes", ())
                for line in fix["description"]["text"].splitlines()
                if "rollout restart" in line
            ]
            assert len(restarts) <= 1, restarts
    assert sizes[1] < MAX_GROWTH * sizes[0], sizes
    assert sarif_sizes[1] < MAX_GROWTH * sarif_sizes[0], sarif_sizes


def _registries(path: Path, count: int) -> Path:
    """One namespace with `count` pull secrets, each for a registry of its own, and a Deployment
    pulling from each registry with its secret."""
    documents: list[str] = []
    for i in range(count):
        auth = base64.b64encode(f"robot:password-{i}".encode()).decode()
        config = base64.b64encode(json.dumps({"auths": {f"reg{i}.corp.example": {"auth": auth}}}).encode())
        documents.append(
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: pull-{i}, namespace: one}}\n"
            f"type: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {config.decode()}}}\n"
        )
        documents.append(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: one}}\nspec:\n"
            f"  template:\n    spec:\n      imagePullSecrets: [{{name: pull-{i}}}]\n"
            f"      containers: [{{name: app, image: reg{i}.corp.example/team/app:1}}]\n"
        )
    path.mkdir(parents=True)
    (path / "all.yaml").write_text("---\n".join(documents), encoding="utf-8")
    return path


def test_an_image_is_looked_up_among_the_keys_of_its_host_not_the_whole_keyring(tmp_path: Path) -> None:
    """Whether a registry is private is looked up in the keys of every pull secret of the input
    (the kubelet's URLsMatch, key by key): a key without wildcards can only match its own host."""
    seconds = []
    for count in (250, 2000):
        collected = collect(file_sources([str(_registries(tmp_path / str(count), count))]), ScanOptions())
        result = run_collected(collected)
        assert result.summary.private_images == result.summary.private_images_covered == count
        seconds.append(_cpu(lambda: run_collected(collected)))  # noqa: B023
    assert seconds[1] < MAX_GROWTH * seconds[0], seconds
