"""`pullguard doctor` against the API-server double and the real registries of the verify tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from apiserver_double import ApiServerDouble
from cluster.fixtures import deployment, node, pod, pull_secret, service_account
from integration.registry_env import USERS, Environment, free_port

ROOT = Path(__file__).resolve().parents[2]


def event(pod_name: str, image: str, message: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{pod_name}.17f0", "namespace": "shop", "resourceVersion": "99"},
        "involvedObject": {
            "kind": "Pod",
            "namespace": "shop",
            "name": pod_name,
            "fieldPath": "spec.containers{app}",
        },
        "reason": "Failed",
        "message": f'Failed to pull image "{image}": {message}',
        "type": "Warning",
        "count": 4,
        "lastTimestamp": "2025-01-10T08:05:00Z",
        "source": {"component": "kubelet", "host": "node-1"},
    }


def cluster(env: Environment) -> dict[str, list[dict[str, Any]]]:
    basic, token = env.basic.host, env.token.host
    closed = f"127.0.0.1:{free_port()}"
    cases = {
        # pod: (image, pull secrets, kubelet message)
        "bad-creds": (f"{basic}/team/app:1.0", ["wrong-pw"], "401 Unauthorized"),
        "wrong-registry": (f"{basic}/team/app:1.0", ["other-reg"], "authentication required"),
        "missing": (f"{basic}/team/app:1.0", ["gone"], "401 Unauthorized"),
        "not-found": (f"{basic}/team/app:9.9", ["alice-basic"], "not found"),
        "denied": (f"{token}/secret/app:1.0", ["bob-token"], "insufficient_scope: authorization failed"),
        "platform": (
            f"{basic}/team/app:1.0",
            ["alice-basic"],
            "no match for platform in manifest: not found",
        ),
        "unreachable": (
            f"{closed}/team/app:1.0",
            ["alice-closed"],
            f"dial tcp {closed}: connect: connection refused",
        ),
        # issue 12: pullguard runs where the registry cannot be reached; the kubelet reached it and got 401
        "laptop-missing": (f"{closed}/team/app:1.0", ["gone"], "401 Unauthorized"),
        "laptop-refused": (f"{closed}/team/app:1.0", ["alice-closed"], "401 Unauthorized"),
        # the node pulls through a mirror configured in containerd
        "mirrored": (
            f"{basic}/team/app:1.0",
            ["wrong-pw"],
            "failed to resolve reference: unexpected status from HEAD request to "
            "https://mirror.internal:5000/v2/team/app/manifests/1.0?ns=registry: 401 Unauthorized",
        ),
    }
    pods = [
        pod(name, "shop", image, secrets, waiting="ImagePullBackOff")
        for name, (image, secrets, _) in cases.items()
    ]
    pods.append(pod("healthy", "shop", f"{basic}/team/app:1.0", ["alice-basic"]))
    pods += [
        pod(
            "web-5d4f8c7b9-aaaaa",
            "shop",
            f"{basic}/team/app:1.0",
            ["alice-basic"],
            owner=("ReplicaSet", "web-5d4f8c7b9"),
            labels={"app": "web", "pod-template-hash": "5d4f8c7b9"},
        ),
        pod(
            "web-5d4f8c7b9-bbbbb",
            "shop",
            f"{basic}/team/app:1.0",
            ["wrong-pw"],
            owner=("ReplicaSet", "web-5d4f8c7b9"),
            labels={"app": "web", "pod-template-hash": "5d4f8c7b9"},
            waiting="ErrImagePull",
        ),
    ]
    events = [event(name, image, message) for name, (image, _, message) in cases.items()]
    events.append(event("web-5d4f8c7b9-bbbbb", f"{basic}/team/app:1.0", "401 Unauthorized"))
    return {
        "pods": pods,
        "events": events,
        "deployments": [
            deployment("web", "shop", f"{basic}/team/app:1.0", ["alice-basic"]),
            # no pod at all (scaled to zero, or its pods cannot be created): the template is judged
            deployment("idle", "shop", f"{basic}/team/app:1.0", ["gone"], replicas=0),
        ],
        "serviceaccounts": [service_account("default", "shop")],
        "nodes": [node("node-1", {"kubernetes.io/arch": "arm64"})],
        "secrets": [
            pull_secret("wrong-pw", "shop", basic, user="alice", password="not-alices-password-canary"),
            pull_secret("other-reg", "shop", "registry.other.example", user="alice", password=USERS["alice"]),
            pull_secret("alice-basic", "shop", basic, user="alice", password=USERS["alice"]),
            pull_secret("bob-token", "shop", token, user="bob", password=USERS["bob"]),
            pull_secret("alice-closed", "shop", closed, user="alice", password=USERS["alice"]),
        ],
    }


@pytest.fixture(scope="module")
def doctor_env(
    registries: Environment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Environment, str]]:
    with ApiServerDouble(cluster(registries)) as api:
        path = tmp_path_factory.mktemp("doctor") / "kubeconfig"
        path.write_text(yaml.safe_dump(api.kubeconfig("prod", namespace="shop")))
        yield registries, str(path)


def doctor(env: tuple[Environment, str], *args: str) -> subprocess.CompletedProcess[str]:
    registries, kubeconfig = env
    clean = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",) and "proxy" not in k.lower()}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pullguard",
            "doctor",
            *args,
            "--kubeconfig",
            kubeconfig,
            "--ca-file",
            str(registries.pki.ca_pem),
            "--timeout",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("pod_name", "cause"),
    [
        ("bad-creds", "bad-credentials"),
        ("wrong-registry", "wrong-registry"),
        ("missing", "missing-secret"),
        ("not-found", "not-found"),
        ("denied", "access-denied"),
        ("platform", "platform-mismatch"),
        ("unreachable", "unreachable"),
    ],
)
def test_doctor_classifies(doctor_env: tuple[Environment, str], pod_name: str, cause: str) -> None:
    result = doctor(doctor_env, pod_name, "-n", "shop", "-f", "json")
    assert result.returncode == 1, result.stderr
    [diagnosis] = json.loads(result.stdout)
    [container] = diagnosis["containers"]
    assert container["cause"] == cause, container
    assert container["fix"]
    for secret in ("not-alices-password-canary", USERS["alice"], USERS["bob"]):
        assert secret not in result.stdout + result.stderr


def test_doctor_text_shows_keyring_order_and_fix(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "bad-creds", "-n", "shop")
    assert result.returncode == 1
    assert "credentials the kubelet tries, in order" in result.stdout
    assert "1. secret shop/wrong-pw key" in result.stdout and "unauthorized" in result.stdout
    assert "cause: bad credentials" in result.stdout
    assert "kubectl create secret docker-registry wrong-pw -n shop" in result.stdout
    assert "not-alices-password-canary" not in result.stdout


def test_doctor_healthy_pod(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "healthy", "-n", "shop")
    assert result.returncode == 0 and "pulls fine" in result.stdout


def test_doctor_deployment_picks_failing_pods(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "deploy/web", "-n", "shop", "-f", "json")
    assert result.returncode == 1, result.stderr
    diagnoses = json.loads(result.stdout)
    assert [d["pod"]["name"] for d in diagnoses] == ["web-5d4f8c7b9-bbbbb"]
    assert diagnoses[0]["owner"] == {"kind": "Deployment", "namespace": "shop", "name": "web"}
    assert "rollout restart deployment/web" in diagnoses[0]["containers"][0]["fix"]


def test_doctor_unknown_pod(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "nope", "-n", "shop")
    assert result.returncode == 2 and "not found" in result.stderr


def test_doctor_trusts_the_kubelet_over_its_own_reach(doctor_env: tuple[Environment, str]) -> None:
    """The registry cannot be reached from where pullguard runs; the kubelet's event says 401 and the
    pod's pull secret does not exist: the cause is the missing secret, the reach is a noted limit."""
    result = doctor(doctor_env, "laptop-missing", "-n", "shop", "-f", "json")
    assert result.returncode == 1, result.stderr
    [container] = json.loads(result.stdout)[0]["containers"]
    assert container["cause"] == "missing-secret", container
    assert "gone" in container["explanation"] and "kubectl create secret" in container["fix"]
    assert any("could not reach" in note and "not the cause" in note for note in container["notes"])
    assert any("'gone' does not exist" in note for note in container["notes"])
    assert "dns" not in container["fix"].lower() and "wget" not in container["fix"]


def test_doctor_sent_credential_refused_while_unreachable_here(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "laptop-refused", "-n", "shop")
    assert result.returncode == 1, result.stderr
    assert "cause: bad credentials" in result.stdout
    assert "note: pullguard could not reach" in result.stdout
    assert "cause: registry unreachable" not in result.stdout


def test_doctor_notes_a_mirror_named_by_the_event(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "mirrored", "-n", "shop", "-f", "json")
    assert result.returncode == 1, result.stderr
    [container] = json.loads(result.stdout)[0]["containers"]
    assert container["cause"] == "bad-credentials"
    assert any("mirror.internal:5000" in note and "mirror" in note for note in container["notes"]), container


def test_doctor_workload_without_pods_judges_its_template(doctor_env: tuple[Environment, str]) -> None:
    result = doctor(doctor_env, "deploy/idle", "-n", "shop", "-f", "json")
    assert result.returncode == 1, result.stderr
    [diagnosis] = json.loads(result.stdout)
    assert diagnosis["templateOnly"] is True
    assert diagnosis["owner"] == {"kind": "Deployment", "namespace": "shop", "name": "idle"}
    [container] = diagnosis["containers"]
    assert container["cause"] == "missing-secret", container
