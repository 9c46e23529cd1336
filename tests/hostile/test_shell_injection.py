"""The fix plan pastes into a shell: names from the input must stay names there (CWE-78).

Kubernetes refuses names like these (a namespace is an RFC 1123 label, a Secret an RFC 1123
subdomain), but the files are whoever wrote the pull request. Every command pullguard prints
quotes what it took from the input, so pasting the plan runs `kubectl` with a strange argument,
never the text inside it. The tests run the printed commands in a real `bash`, with `kubectl`,
`pullguard`, `jq` and friends as functions that do nothing, and look for the marker file the
injected command would create.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from hostile.support import PRIVATE, no_internal_error, pullguard

_TOOLS = (
    "kubectl",
    "pullguard",
    "jq",
    "base64",
    "shred",
    "test",
    "sops",
    "kubeseal",
    "aws",
    "gcloud",
    "az",
    "grep",
)


def _injected(marker: Path) -> dict[str, str]:
    """Hostile names for every place a name reaches a command, each creating `marker` if run."""
    run = f"touch {marker}"
    return {
        "namespace": f"shop;{run};",
        "secret": f"sec$({run})",
        "quoted": f"reg'; {run}; '",
        "workload": f"web`{run}`",
        "account": f"builder&&{run}",
    }


def _manifests(names: dict[str, str]) -> str:
    ns, secret, quoted, workload, account = (
        names["namespace"],
        names["secret"],
        names["quoted"],
        names["workload"],
        names["account"],
    )
    return yaml.safe_dump_all(
        [
            # a pod in a hostile namespace with no credential: CREATE + attach
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"containers": [{"name": "c", "image": "reg.corp.example/app:1"}]},
            },
            # a workload listing a missing secret with a hostile name: CREATE_MISSING
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": workload, "namespace": "shop"},
                "spec": {
                    "template": {
                        "spec": {
                            "serviceAccountName": account,
                            "imagePullSecrets": [{"name": secret}],
                            "containers": [{"name": "c", "image": "reg.corp.example/shop/app:1"}],
                        }
                    }
                },
            },
            # a ServiceAccount whose pods need a credential: the ServiceAccount patch
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": "team"},
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "api", "namespace": "team"},
                "spec": {
                    "template": {
                        "spec": {
                            "serviceAccountName": account,
                            "containers": [{"name": "c", "image": "reg.corp.example/team/api:1"}],
                        }
                    }
                },
            },
            # a pull secret with a hostile name that cannot be decoded: REPAIR, and an unused one (PG009)
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": quoted, "namespace": "team"},
                "type": "kubernetes.io/dockerconfigjson",
                "stringData": {".dockerconfigjson": '{"auths": {"reg.corp.example": {"auth": "%%%"}}}'},
            },
        ]
    )


def _commands(text: str) -> str:
    """The printed fix section as a user pastes it: placeholders filled in; the two headings are
    the only lines that are neither a command nor a `#` comment."""
    text = text.replace("<password-file>", "/dev/null")
    rows = [re.sub(r"<[^<>\n]*>", "x", row) for row in text.splitlines()]
    return "\n".join(row for row in rows if not row.startswith(("Fix plan:", "Other fixes")))


def _run_as_a_shell_would(script: str, tmp_path: Path) -> None:
    stubs = "".join(f"{tool}() {{ return 0; }}\n" for tool in _TOOLS)
    subprocess.run(
        ["bash", "-c", f"{stubs}\n{script}\n"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("how", ["show-fixes", "json", "fix"])
def test_pasting_what_pullguard_prints_never_runs_a_name(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "PWNED"
    names = _injected(marker)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "app.yaml").write_text(_manifests(names))
    if how == "fix":
        result = pullguard("fix", str(tmp_path / "in"), "--no-config", *PRIVATE)
        printed = result.stderr.decode()
        # a note is a sentence that ends with the command to run ("...: kubectl ...", "(pullguard ...)"):
        # that command is what a user pastes
        found = (
            re.search(r"(?:: |\()((?:kubectl|pullguard) .*?)\)?$", line) for line in printed.splitlines()
        )
        script = "\n".join(match.group(1) for match in found if match)
    else:
        args = {"show-fixes": ("--show-fixes",), "json": ("-f", "json")}[how]
        result = pullguard("scan", str(tmp_path / "in"), "--no-config", *PRIVATE, *args)
        printed = result.stdout.decode()
        if how == "json":
            report = json.loads(printed)
            commands = [c for n in report["fixes"] for s in n["steps"] for c in s["commands"]]
            commands += [f["fix"] for f in report["findings"] if f.get("fix")]
            script = "\n".join(commands)
        else:
            script = printed[printed.index("Fix plan:") :]
    no_internal_error(result)
    # the names do reach the output (the test is not vacuous): in every command of the plan, in the
    # notes of fix for the ones it leaves to do by hand
    reached = [name for name in names.values() if name in printed or shlex.quote(name) in printed]
    assert len(reached) >= 3, printed
    _run_as_a_shell_would(_commands(script), tmp_path)
    assert not marker.exists(), f"a name from the input ran as a command ({how})"


def test_valid_names_print_as_they_are(tmp_path: Path) -> None:
    """Quoting changes nothing for the names Kubernetes accepts: the plan stays as people read it."""
    (tmp_path / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - {name: c, image: reg.corp.example/a:1}\n"
    )
    shown = pullguard("scan", str(tmp_path), "--no-config", "--show-fixes", *PRIVATE).stdout.decode()
    assert (
        "kubectl create secret docker-registry pull-reg.corp.example -n shop --docker-server=reg.corp.example "
        in shown
    )
    assert "kubectl patch serviceaccount default -n shop --type=json -p '[{" in shown or (
        "if kubectl get serviceaccount default -n shop" in shown
    )


def test_a_line_break_in_a_name_stays_inside_its_command(tmp_path: Path) -> None:
    """A namespace with a line break: quoted plainly it would still be one word, but the printed
    command would break across lines; bash's $'...' spells the break as an escape."""
    marker = tmp_path / "PWNED"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pod.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": f"shop\ntouch {marker}\n"},
                "spec": {"containers": [{"name": "c", "image": "reg.corp.example/app:1"}]},
            }
        )
    )
    printed = pullguard("scan", str(tmp_path / "in"), "--no-config", "--show-fixes", *PRIVATE).stdout.decode()
    section = printed[printed.index("Fix plan:") :]
    assert f"-n $'shop\\x0atouch {marker}\\x0a'" in section
    assert not any(line.startswith("touch") for line in section.splitlines())
    _run_as_a_shell_would(_commands(section), tmp_path)
    assert not marker.exists()
