"""A chain of YAML aliases ("billion laughs") where Kubernetes wants a string is an input problem
naming the field; it is never turned into text.

Nine levels of nine aliases are 9**10 strings once expanded: `str()` of it took 26 s and 2.5 GB
before failing with MemoryError. Labels and annotations are map[string]string (the API server
refuses any other value); timestamps, an ExternalSecret's refreshInterval and the kubelet
version of `.pullguard.yaml` are strings too. Each run here is bounded to 1 GiB of address space:
an expansion fails it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from hostile.support import ROOT

LEVELS = 9
_CHAIN = "\n".join(
    [f"  a0: &a0 [{','.join(['lol'] * 9)}]"]
    + [f"  a{n}: &a{n} [{','.join([f'*a{n - 1}'] * 9)}]" for n in range(1, LEVELS + 1)]
)
BOMB = f"*a{LEVELS}"
VALID_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: shop}
spec:
  containers:
  - {name: c, image: reg.corp.example/fine:1}
"""


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _scan(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PULLGUARD_DEBUG", "COLUMNS")}
    return subprocess.run(
        [sys.executable, "-m", "pullguard", "scan", str(path), "--assume-private", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
        preexec_fn=_bounded,
    )


# (name, document with the chain under x-bomb, the field the problem names)
CASES = [
    (
        "pod-annotations",
        f"apiVersion: v1\nkind: Pod\nx-bomb:\n{_CHAIN}\nmetadata:\n  name: p\n  namespace: shop\n"
        f"  annotations: {{a: 'ok', b: {BOMB}}}\n"
        "spec: {containers: [{name: c, image: reg.corp.example/a:1}]}\n",
        "'metadata.annotations[b]' must be a string",
    ),
    (
        "template-annotations",
        f"apiVersion: apps/v1\nkind: Deployment\nx-bomb:\n{_CHAIN}\nmetadata: {{name: d, namespace: shop}}\n"
        "spec:\n  template:\n"
        f"    metadata: {{annotations: {{eks.amazonaws.com/role-arn: {BOMB}}}}}\n"
        "    spec: {containers: [{name: c, image: reg.corp.example/a:1}]}\n",
        "'spec.template.metadata.annotations[eks.amazonaws.com/role-arn]' must be a string",
    ),
    (
        "namespace-labels",
        f"apiVersion: v1\nkind: Namespace\nx-bomb:\n{_CHAIN}\nmetadata:\n  name: shop\n  labels: {{team: {BOMB}}}\n",
        "'metadata.labels[team]' must be a string",
    ),
    (
        "secret-annotations",
        f"apiVersion: v1\nkind: Secret\nx-bomb:\n{_CHAIN}\nmetadata:\n  name: s\n  namespace: shop\n"
        f"  annotations: {{x: {BOMB}}}\ntype: Opaque\n",
        "'metadata.annotations[x]' must be a string",
    ),
    (
        "secret-created",
        f"apiVersion: v1\nkind: Secret\nx-bomb:\n{_CHAIN}\nmetadata:\n  name: s\n  namespace: shop\n"
        f"  creationTimestamp: {BOMB}\ntype: Opaque\n",
        "'metadata.creationTimestamp' must be a timestamp",
    ),
    (
        "secret-managed-fields",
        f"apiVersion: v1\nkind: Secret\nx-bomb:\n{_CHAIN}\nmetadata:\n  name: s\n  namespace: shop\n"
        f"  managedFields: [{{manager: kubectl, time: {BOMB}}}]\ntype: Opaque\n",
        "'metadata.managedFields[].time' must be a timestamp",
    ),
    (
        "external-secret-refresh",
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\n"
        f"x-bomb:\n{_CHAIN}\nmetadata: {{name: es, namespace: shop}}\n"
        f"spec:\n  refreshInterval: {BOMB}\n  target: {{name: pull}}\n",
        "'spec.refreshInterval' must be a string",
    ),
    (
        "cluster-external-secret-selector",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n---\n"
        "apiVersion: external-secrets.io/v1beta1\nkind: ClusterExternalSecret\n"
        f"x-bomb:\n{_CHAIN}\nmetadata: {{name: ces}}\n"
        f"spec:\n  namespaceSelectors: [{{matchLabels: {{team: {BOMB}}}}}]\n"
        "  externalSecretSpec: {target: {name: pull}}\n",
        "'spec.namespaceSelectors[0].matchLabels[team]' must be a string",
    ),
    (
        "cluster-role-aggregation",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        f"x-bomb:\n{_CHAIN}\nmetadata: {{name: agg}}\n"
        f"aggregationRule:\n  clusterRoleSelectors: [{{matchLabels: {{rbac.example.com/agg: {BOMB}}}}}]\n",
        "'aggregationRule.clusterRoleSelectors[0].matchLabels[rbac.example.com/agg]' must be a string",
    ),
]


@pytest.mark.parametrize(("document", "field"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_an_alias_chain_where_a_string_belongs_is_an_input_problem(
    tmp_path: Path, document: str, field: str
) -> None:
    (tmp_path / "bomb.yaml").write_text(document + "---\n" + VALID_POD)
    result = _scan(tmp_path, "-f", "json")
    assert "internal error" not in result.stderr + result.stdout, result.stderr
    report = json.loads(result.stdout)
    messages = [p["message"] for p in report["inputProblems"]]
    assert any(field in m for m in messages), messages
    assert not any("lol" in m for m in messages)  # the value is never quoted
    # the other object of the file is analysed
    assert any(item["image"] == "reg.corp.example/fine:1" for item in report["images"])


def test_an_alias_chain_as_the_kubelet_version_of_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(VALID_POD)
    (tmp_path / ".pullguard.yaml").write_text(
        f"x-anchors:\n{_CHAIN}\nkubelet:\n  kubernetesVersion: {BOMB}\n"
    )
    result = _scan(tmp_path)
    assert "internal error" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2
    assert "kubernetesVersion: must be a string" in result.stderr


def test_numbers_and_booleans_in_annotations_are_read_as_before(tmp_path: Path) -> None:
    """kubectl refuses them unquoted, but manifests hold them (the real-world corpus does): the
    object is analysed, its values read as text."""
    (tmp_path / "pod.yaml").write_text(
        VALID_POD.replace(
            "namespace: shop}", "namespace: shop, annotations: {a: 1, b: true}, labels: {v: 1.5}}"
        )
    )
    result = _scan(tmp_path, "-f", "json")
    report = json.loads(result.stdout)
    assert report["inputProblems"] == []
    assert [item["image"] for item in report["images"]] == ["reg.corp.example/fine:1"]
