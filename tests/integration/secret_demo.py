"""The README's "Managing credentials" output, for real: `pullguard secret` against the API-server
double and a real docker-registry that plays registry.example.com (TLS from a test CA, reached with
--connect-to). ``python -m integration.secret_demo`` from ``tests/`` (`make secret-demo`)."""

from __future__ import annotations

import base64
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

from apiserver_double import ApiServerDouble
from integration.registry_env import Pki, Registry, basic_header, clean_env, push_image, write_htpasswd
from integration.secret_support import make_helper, run, shop, write_kubeconfig

HOST = "registry.example.com"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def main() -> int:
    for _ in clean_env():
        with tempfile.TemporaryDirectory() as tmp:
            return demo(Path(tmp))
    return 1


def demo(tmp: Path) -> int:
    pki = Pki(tmp / "pki", dns_names=(HOST, ECR))
    # a JWT-shaped token (htpasswd's bcrypt keeps 72 bytes: an ECR-sized token does not fit)
    claims = (
        base64.urlsafe_b64encode(json.dumps({"exp": int(time.time() + 12 * 3600)}).encode())
        .decode()
        .rstrip("=")
    )
    token = f"eyJhbGciOiJub25lIn0.{claims}.c2ln"
    users = {"ci": "first-demo-pw-1", "ci-2026": "second-demo-pw-2", "AWS": token, "pusher": "pusher-demo-pw"}
    registry = Registry(
        "demo",
        tmp / "registry",
        pki,
        {"htpasswd": {"realm": "demo", "path": str(write_htpasswd(tmp / "htpasswd", users))}},
    )
    try:
        push_image(registry, "team/app", "1.0", basic_header("pusher", users["pusher"]))
        reach = [
            "--ca-file",
            str(pki.ca_pem),
            "--connect-to",
            f"{HOST}:443:{registry.host}",
            "--connect-to",
            f"{ECR}:443:{registry.host}",
        ]
        helper = make_helper(tmp / "helper", "ecr-login")
        helper.answer(ECR, ("AWS", token))
        (tmp / "new-password").write_text(users["ci-2026"] + "\n")
        with ApiServerDouble(shop()) as api:
            kubeconfig = write_kubeconfig(api, tmp / "kubeconfig")
            steps: list[tuple[list[str], str | None, bool]] = [
                (
                    [
                        "secret",
                        "create",
                        "regcred",
                        "-n",
                        "shop",
                        "--registry",
                        HOST,
                        "--username",
                        "ci",
                        "--password-stdin",
                        "--image",
                        f"{HOST}/team/app:1.0",
                    ],
                    users["ci"],
                    True,
                ),
                (
                    [
                        "secret",
                        "create",
                        "regcred",
                        "-n",
                        "shop",
                        "--registry",
                        HOST,
                        "--username",
                        "ci",
                        "--password",
                        "first-demo-pw-1",
                    ],
                    None,
                    False,
                ),
                (["secret", "attach", "regcred", "-n", "shop", "--serviceaccount", "default"], None, False),
                (["secret", "attach", "regcred", "-n", "shop", "--workload", "deployment/web"], None, False),
                (
                    [
                        "secret",
                        "rotate",
                        "regcred",
                        "-n",
                        "shop",
                        "--username",
                        "ci-2026",
                        "--password-file",
                        "new-password",
                    ],
                    None,
                    True,
                ),
                (
                    [
                        "secret",
                        "rotate",
                        "regcred",
                        "-n",
                        "shop",
                        "--username",
                        "ci-2026",
                        "--password-file",
                        "new-password",
                        "--apply",
                        "--verify-after",
                    ],
                    None,
                    True,
                ),
                (["secret", "rotate", "regcred", "-n", "shop", "--rollback", "--dry-run=server"], None, True),
                (
                    [
                        "secret",
                        "create",
                        "ecr-pull",
                        "-n",
                        "shop",
                        "--registry",
                        ECR,
                        "--credential-helper",
                        "ecr-login",
                    ],
                    None,
                    True,
                ),
                (
                    [
                        "secret",
                        "refresh",
                        "ecr-pull",
                        "-n",
                        "shop",
                        "--credential-helper",
                        "ecr-login",
                        "--apply",
                    ],
                    None,
                    True,
                ),
                (
                    [
                        "secret",
                        "attach",
                        "regcred",
                        "-n",
                        "shop",
                        "--serviceaccount",
                        "builder",
                        "-o",
                        "yaml",
                    ],
                    None,
                    False,
                ),
            ]
            for args, stdin, needs_registry in steps:
                shown = " ".join(shlex.quote(a) for a in args)
                prompt = 'echo "$PASSWORD" | pullguard ' if stdin is not None else "pullguard "
                shown = prompt + shown
                extra = reach if needs_registry else []
                args = [a if a != "new-password" else str(tmp / "new-password") for a in args]
                result = run(*args, *extra, kubeconfig=kubeconfig, helper=helper, stdin=stdin)
                print(f"$ {shown}")
                text = (result.stdout + result.stderr).replace(str(tmp), "/tmp/demo")
                print(text.replace("python -m pullguard", "pullguard").rstrip())
                print(f"(exit {result.returncode})\n")
                for value in users.values():
                    assert value not in text, "a credential was printed"
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
