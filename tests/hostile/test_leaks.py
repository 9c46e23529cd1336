"""Nothing leaks through a report, and no input drives the terminal reading it.

Canaries: a registry password in a container env duplicate key, a .dockerconfigjson in a ConfigMap
duplicate key, userinfo in an image reference; control sequences in a Kubernetes event message.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from cluster.fixtures import pod
from hostile.support import PRIVATE, doctor_on_a_stuck_pod, no_internal_error, pullguard

FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")
ENV_CANARY = "env-pw-CANARY-51c2"
CONFIG_CANARY = "cfg-pw-CANARY-9d0e"
USERINFO_CANARY = "ui-pw-CANARY-3b7f"

DUPLICATES = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      containers:
      - name: app
        image: reg.corp.example/app:1
        env:
        - name: REGISTRY_PASSWORD
          value: first-{ENV_CANARY}
          value: {ENV_CANARY}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: shop}}
data:
  .dockerconfigjson: '{{"auths":{{"reg.corp.example":{{"auth":"first-{CONFIG_CANARY}"}}}}}}'
  .dockerconfigjson: '{{"auths":{{"reg.corp.example":{{"auth":"{CONFIG_CANARY}"}}}}}}'
"""

USERINFO_POD = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: creds-in-image, namespace: shop}}
spec:
  containers:
  - name: app
    image: https://robot:{USERINFO_CANARY}@reg.corp.example/app:1
  - name: bare
    image: robot:{USERINFO_CANARY}@reg.corp.example/team/app:1
"""


@pytest.mark.parametrize("output_format", FORMATS)
def test_duplicate_key_warnings_never_quote_values(tmp_path: Path, output_format: str) -> None:
    (tmp_path / "dup.yaml").write_text(DUPLICATES)
    result = pullguard("scan", str(tmp_path), "-f", output_format, *PRIVATE)
    no_internal_error(result)
    output = result.stdout.decode()
    assert "duplicate key" in output or output_format == "markdown"  # markdown lists no warnings
    assert ENV_CANARY not in output and CONFIG_CANARY not in output


@pytest.mark.parametrize("output_format", FORMATS)
def test_userinfo_in_an_image_reference_is_never_shown(tmp_path: Path, output_format: str) -> None:
    (tmp_path / "pod.yaml").write_text(USERINFO_POD)
    extra = ("--images",) if output_format == "text" else ()
    result = pullguard("scan", str(tmp_path), "-f", output_format, *PRIVATE, *extra)
    no_internal_error(result)
    output = result.stdout.decode()
    assert USERINFO_CANARY not in output
    if output_format in ("text", "json"):  # the formats that list every image
        assert "***@reg.corp.example" in output


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_verify_never_shows_userinfo_in_an_image_reference(tmp_path: Path, output_format: str) -> None:
    (tmp_path / "pod.yaml").write_text(USERINFO_POD)
    result = pullguard("verify", str(tmp_path), "-f", output_format, "--deadline", "10", timeout=60)
    no_internal_error(result)
    assert USERINFO_CANARY not in (result.stdout + result.stderr).decode()
    assert b"***@reg.corp.example" in result.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HOSTILE_EVENT = (
    'Failed to pull image "https://robot:' + USERINFO_CANARY + '@reg/x:1": \x1b[2J\x1b]0;owned\x07'
    "\x9b31m all good \u202e"
)


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_doctor_neutralises_event_messages(tmp_path: Path, output_format: str) -> None:
    """Anyone who may create events in the namespace writes the message doctor prints."""
    image = f"127.0.0.1:{_closed_port()}/team/app:1"
    stuck = pod("stuck", "shop", image, waiting="ImagePullBackOff")
    message = HOSTILE_EVENT.replace("https://robot", f"{image} https://robot")
    result = doctor_on_a_stuck_pod(tmp_path, stuck, "Failed", message, "-f", output_format)
    no_internal_error(result)
    output = result.stdout.decode()
    if output_format == "json":  # escaped as JSON (\u001b), so it never reaches a terminal raw
        assert "all good" in json.dumps(json.loads(output))
    assert "all good" in output  # the event is shown
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in output
    assert USERINFO_CANARY not in output
