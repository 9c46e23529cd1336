"""A registry password written into an image reference never reaches any output.

An image reference (distribution/reference: domain/path[:tag][@digest]) holds an `@` only
before a digest and never a `?` or `#`: whatever stands before another `@`, or after a `?` or
`#`, may be a credential. The shapes below leaked through every report, `verify`, `fix`'s diff
and `doctor`'s event messages: a password with `/` or a space, a scheme-relative or broken
scheme, a query string.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cluster.fixtures import pod
from hostile.support import doctor_on_a_stuck_pod, no_internal_error, pullguard

CANARY = "CANARY-7f3a9"
DIGEST = "sha256:" + "0123456789abcdef" * 4

# (written, shown): shown is how a report writes the reference.
SHAPES = [
    (f"https://ci:{CANARY}/x@reg.corp.example/app:1", "https://***@reg.corp.example/app:1"),
    (f"//user:{CANARY}@reg.corp.example/app:2", "//***@reg.corp.example/app:2"),
    (f"https://ci:{CANARY}a b@reg.corp.example/app:3", "https://***@reg.corp.example/app:3"),
    (f"https:/u:{CANARY}@reg/app:4", "https:/***@reg/app:4"),
    (f"reg.corp.example/app:5?token={CANARY}", "reg.corp.example/app:5?***"),
    (f"reg.corp.example/app:6#{CANARY}", "reg.corp.example/app:6#***"),
    (f"https://u:{CANARY}?x@reg.corp.example/app:7", "https://***@reg.corp.example/app:7"),
    (f"reg.corp.example/app:8?mail=a@{CANARY}.example", "reg.corp.example/app:8?***"),
    (f"https://ci:{CANARY}@reg.corp.example/app:9@{DIGEST}", f"https://***@reg.corp.example/app:9@{DIGEST}"),
]
# Digests are no credential: shown as written.
KEPT = [f"nginx@{DIGEST}", f"reg.corp.example/app:1@{DIGEST}"]


def _pods() -> str:
    images = [written for written, _ in SHAPES] + KEPT
    return "---\n".join(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p{index}", "namespace": "shop"},
                "spec": {"containers": [{"name": "c", "image": image}]},
            }
        )
        for index, image in enumerate(images)
    )


FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")


@pytest.mark.parametrize("output_format", FORMATS)
def test_no_report_format_shows_a_password_in_an_image(tmp_path: Path, output_format: str) -> None:
    (tmp_path / "pods.yaml").write_text(_pods())
    extra = ("--images",) if output_format == "text" else ()
    result = pullguard("scan", str(tmp_path), "-f", output_format, "--assume-private", *extra)
    no_internal_error(result)
    output = result.stdout.decode()
    assert CANARY not in output + result.stderr.decode()
    if output_format == "json":  # every image, as shown
        listed = {item["image"] for item in json.loads(output)["images"]}
        assert listed == {shown for _, shown in SHAPES} | set(KEPT)
    if output_format == "text":
        for _, shown in SHAPES:
            assert shown in output
        for image in KEPT:
            assert image in output


def test_verify_shows_no_password_in_an_image(tmp_path: Path) -> None:
    (tmp_path / "pods.yaml").write_text(_pods())
    for output_format in ("text", "json"):
        result = pullguard("verify", str(tmp_path), "-f", output_format, "--deadline", "10", timeout=60)
        no_internal_error(result)
        assert CANARY not in (result.stdout + result.stderr).decode()
        assert b"https:/***@reg/app:4" in result.stdout


FIXABLE = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: shop}}
spec:
  containers:
  - name: c
    image: "https://ci:{CANARY}/x@reg.corp.example/app:1"
  - name: d
    image: reg.corp.example/app:1
---
apiVersion: v1
kind: Secret
metadata: {{name: regcred, namespace: shop}}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: eyJhdXRocyI6eyJyZWcuY29ycC5leGFtcGxlIjp7ImF1dGgiOiJkWE5sY2pwd1lYTnoifX19
"""


def test_fix_diff_shows_no_password_in_an_image(tmp_path: Path) -> None:
    """The fix adds imagePullSecrets right below the containers: the diff's context held the image."""
    (tmp_path / "pod.yaml").write_text(FIXABLE)
    result = pullguard("fix", str(tmp_path), "--assume-private")
    no_internal_error(result)
    assert result.returncode == 1, result.stderr.decode()
    assert b"+  - name: regcred" in result.stdout  # the fix is still shown
    assert CANARY not in (result.stdout + result.stderr).decode()
    assert b"git apply --unidiff-zero" in result.stderr


# The kubelet's InspectFailed event for such a reference (pkg/kubelet/images/image_manager.go:
# "Failed to apply default image tag %q: %v", the error "couldn't parse image name %q: ...").
# The long prefix puts the cut of the shown message (600 characters) inside the image.
def _invalid_name_event(image: str) -> str:
    return (
        "x" * 560
        + f" Failed to apply default image tag {json.dumps(image)}: couldn't parse image name "
        + f"{json.dumps(image)}: invalid reference format"
    )


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_doctor_shows_no_password_in_an_image(tmp_path: Path, output_format: str) -> None:
    image = f"https://ci:{CANARY}/x a@reg.corp.example/team/app:1"
    stuck = pod("stuck", "shop", image, waiting="InvalidImageName")
    result = doctor_on_a_stuck_pod(
        tmp_path, stuck, "InspectFailed", _invalid_name_event(image), "-f", output_format
    )
    no_internal_error(result)
    output = result.stdout.decode()
    assert "Failed to apply default image tag" in output  # the event is shown
    assert "https://***@reg.corp.example/team/app:1" in output
    assert CANARY not in output + result.stderr.decode()
