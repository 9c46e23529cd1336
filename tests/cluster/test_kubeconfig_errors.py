"""Errors a person can act on when there is no kubeconfig, or its API server does not answer.

A new user with no ~/.kube/config got `kubeconfig /root/.kube/config: Invalid kube-config file.
No configuration found.` (the Kubernetes client skips kubeconfig files that do not exist, then
finds nothing); and, against a closed port, `secret attach` said `no answer from the API server
… for /api/v1/…` where scan and doctor said `connection refused (check the kubeconfig's server
address …)`. Each command here runs as a user runs it (a subprocess, loopback only).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cluster.test_cluster_scan import run, write_kubeconfig

# every command that reads a kubeconfig, with what it needs besides
COMMANDS = {
    "scan": ["scan", "--cluster", "-A"],
    "doctor": ["doctor", "web", "-n", "shop"],
    "secret attach": ["secret", "attach", "regcred", "-n", "shop", "--serviceaccount", "default"],
    "secret rotate": ["secret", "rotate", "regcred", "-n", "shop", "--password-file", "PASSWORD_FILE"],
    "verify": ["verify", "--cluster", "-A"],
}


def _args(command: str, tmp_path: Path) -> list[str]:
    password = tmp_path / "password.txt"
    password.write_text("not-a-real-password\n", encoding="utf-8")
    return [str(password) if a == "PASSWORD_FILE" else a for a in COMMANDS[command]]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _only_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # one error, no traceback
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_no_kubeconfig_at_all(tmp_path: Path, command: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = run(*_args(command, tmp_path), env={"HOME": str(home)})
    assert done.returncode == 2, done.stderr
    line = _only_line(done.stderr)
    assert line == (
        f"pullguard: no kubeconfig: {home}/.kube/config does not exist and KUBECONFIG is not set; "
        "pass --kubeconfig FILE, set KUBECONFIG, or run pullguard in a pod, where it uses the pod's "
        "ServiceAccount (the in-cluster config)"
    )
    assert "Invalid kube-config" not in done.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_kubeconfig_flag_names_a_missing_file(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nope.yaml"
    done = run(*_args(command, tmp_path), "--kubeconfig", str(missing))
    assert done.returncode == 2, done.stderr
    line = _only_line(done.stderr)
    assert line.startswith(
        f"pullguard: kubeconfig {missing} (--kubeconfig) does not exist: check the path"
    ), line


def test_kubeconfig_variable_names_missing_files(tmp_path: Path) -> None:
    one = run(*_args("doctor", tmp_path), env={"KUBECONFIG": str(tmp_path / "a")})
    assert _only_line(one.stderr).startswith(
        f"pullguard: kubeconfig {tmp_path / 'a'} (from KUBECONFIG) does not exist; pass --kubeconfig FILE, "
        "point KUBECONFIG at an existing file, or run pullguard in a pod"
    ), one.stderr
    several = run(*_args("scan", tmp_path), env={"KUBECONFIG": f"{tmp_path / 'a'}:{tmp_path / 'b'}"})
    assert several.returncode == 2
    assert _only_line(several.stderr).startswith(
        f"pullguard: kubeconfig: no file in KUBECONFIG exists ({tmp_path / 'a'}, {tmp_path / 'b'}); "
    ), several.stderr


def test_kubeconfig_variable_with_one_existing_file_is_read(tmp_path: Path) -> None:
    """kubectl skips the files of KUBECONFIG that do not exist and reads the others: so does pullguard
    (here the one that exists points at a closed port: the error is about the server, not the file)."""
    port = _closed_port()
    real = write_kubeconfig(tmp_path / "real", _gone(port))
    done = run(*_args("scan", tmp_path), env={"KUBECONFIG": f"{tmp_path / 'missing'}:{real}"})
    assert done.returncode == 2
    assert "cannot reach the API server" in _only_line(done.stderr)


def _gone(port: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_refused_port_is_worded_the_same_by_every_command(tmp_path: Path, command: str) -> None:
    port = _closed_port()
    kubeconfig = write_kubeconfig(tmp_path / "k", _gone(port))
    done = run(*_args(command, tmp_path), "--kubeconfig", kubeconfig)
    assert done.returncode == 2, done.stderr
    assert _only_line(done.stderr) == (
        f"pullguard: cluster 'gone': cannot reach the API server at http://127.0.0.1:{port}: connection refused "
        "(check the kubeconfig's server address, VPN or proxy, and that the cluster is up)"
    )
