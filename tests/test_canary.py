"""No credential ever leaves pullguard: canary secrets in every shape, every output format.

Each input embeds unique canary credentials. The CLI runs in every format and
the captured stdout+stderr (and -o files) must contain none of: the password,
the username, the `auth` base64, the decoded `user:password`, the whole
base64 payload, or any 24-character piece of those base64 strings. The repr()
of every inventory object must not contain them either.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from pullguard.scan import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[1]


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@dataclass(frozen=True)
class Canary:
    username: str
    password: str

    @property
    def userpass(self) -> str:
        return f"{self.username}:{self.password}"

    @property
    def auth(self) -> str:
        return b64(self.userpass)

    def config(self, key: str = "registry.example.com") -> str:
        entry = {"username": self.username, "password": self.password, "auth": self.auth}
        return json.dumps({"auths": {key: entry}}, separators=(",", ":"))

    @property
    def payload(self) -> str:
        return b64(self.config())

    @property
    def legacy_payload(self) -> str:
        entry = {"username": self.username, "password": self.password, "auth": self.auth}
        return b64(json.dumps({"https://index.docker.io/v1/": entry}))

    def forbidden(self) -> dict[str, str]:
        return {
            "password": self.password,
            "username": self.username,
            "unique part of the password": self.password.rsplit("-", 1)[1],
            "auth": self.auth,
            "user:password": self.userpass,
            "payload": self.payload,
            "legacy payload": self.legacy_payload,
            "password base64": b64(self.password),
            "stringData JSON": self.config(),
        }

    def base64_pieces(self) -> set[str]:
        pieces: set[str] = set()
        for encoded in (self.auth, self.payload, self.legacy_payload, b64(self.password)):
            pieces.update(encoded[i : i + 24] for i in range(0, len(encoded) - 24))
        return pieces


@pytest.fixture(scope="module")
def canary() -> Canary:
    return Canary(f"CANARY-usr-{uuid.uuid4().hex}", f"CANARY-p4ss-{uuid.uuid4().hex}")


def _secret(name: str, type_: str, body: str, extra_metadata: str = "") -> str:
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: shop\n{extra_metadata}"
        f"type: {type_}\n{body}"
    )


def _deployment(name: str, secrets: list[str], image: str = "registry.example.com/shop/app:v1") -> str:
    pulls = "".join(f"      - name: {s}\n" for s in secrets)
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n"
        f"  template:\n    spec:\n      imagePullSecrets:\n{pulls}"
        f"      containers:\n      - name: app\n        image: {image}\n"
    )


def build_inputs(directory: Path, c: Canary) -> dict[str, Path]:
    dcj = "kubernetes.io/dockerconfigjson"
    bad_auth = json.dumps({"auths": {"registry.example.com": {"auth": c.password}}})
    no_colon = json.dumps({"auths": {"registry.example.com": {"auth": b64(c.password)}}})
    wrong_type = json.dumps({"auths": {"registry.example.com": {"username": c.username, "email": False}}})
    applied = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "applied-creds", "namespace": "shop"},
            "type": dcj,
            "data": {".dockerconfigjson": c.payload},
        }
    )
    files = {
        "valid.yaml": [
            _secret("valid-creds", dcj, f"data:\n  .dockerconfigjson: {c.payload}\n"),
            _deployment("valid", ["valid-creds"]),
            _deployment("wrong-registry", ["valid-creds"], "myregistry.azurecr.io/shop/app:v1"),
        ],
        "applied.yaml": [
            _secret(
                "applied-creds",
                dcj,
                f"data:\n  .dockerconfigjson: {c.payload}\n",
                f"  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {applied}\n",
            ),
            _deployment("applied", ["applied-creds"]),
        ],
        "legacy.yaml": [
            _secret("legacy-creds", "kubernetes.io/dockercfg", f"data:\n  .dockercfg: {c.legacy_payload}\n"),
            _deployment("legacy", ["legacy-creds"], "acme/app:1.0"),
        ],
        "malformed.yaml": [
            _secret("bad-auth", dcj, f"data:\n  .dockerconfigjson: {b64(bad_auth)}\n"),
            _secret("no-colon", dcj, f"data:\n  .dockerconfigjson: {b64(no_colon)}\n"),
            _secret("wrong-json-type", dcj, f"data:\n  .dockerconfigjson: {b64(wrong_type)}\n"),
            _secret("not-base64", dcj, f"data:\n  .dockerconfigjson: {c.password}\n"),
            _secret("not-json", dcj, f"data:\n  .dockerconfigjson: {b64(c.userpass)}\n"),
            _deployment("malformed", ["bad-auth", "no-colon", "wrong-json-type", "not-base64", "not-json"]),
        ],
        "opaque.yaml": [
            _secret("opaque-creds", "Opaque", f"data:\n  .dockerconfigjson: {c.payload}\n"),
            _deployment("opaque", ["opaque-creds"]),
        ],
        "duplicate.yaml": [
            _secret(
                "dup-creds",
                dcj,
                f"data:\n  .dockerconfigjson: {c.payload}\n  .dockerconfigjson: {c.payload}\n"
                f"stringData:\n  .dockerconfigjson: '{c.config()}'\n  .dockerconfigjson: '{c.config()}'\n",
            ),
            _deployment("dup", ["dup-creds"]),
        ],
        "stringdata.yaml": [
            _secret("string-creds", dcj, f"stringData:\n  .dockerconfigjson: '{c.config()}'\n"),
            _secret(
                "string-not-a-string", dcj, f"stringData:\n  .dockerconfigjson:\n    password: {c.password}\n"
            ),
            _deployment("string", ["string-creds", "string-not-a-string"]),
        ],
        "list.yaml": [
            "apiVersion: v1\nkind: List\nitems:\n"
            "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: listed-creds\n    namespace: shop\n"
            f"  type: {dcj}\n  data:\n    .dockerconfigjson: {c.payload}\n"
            f"  stringData:\n    .dockerconfigjson: '{c.config()}'\n    .dockerconfigjson: '{c.config()}'\n",
            "apiVersion: v1\nkind: SecretList\nitems:\n"
            "- metadata:\n    name: typed-list-creds\n    namespace: shop\n"
            f"  type: {dcj}\n  data:\n    .dockerconfigjson: {c.payload}\n    .dockerconfigjson: {c.payload}\n",
            _deployment("listed", ["listed-creds", "typed-list-creds"]),
        ],
        "broken.yaml": [
            _deployment("before-broken", ["broken-creds"]),
            _secret(
                "broken-creds",
                dcj,
                f"stringData:\n  .dockerconfigjson: '{c.config()}\n  other: [unclosed {c.password}\n",
            ),
            _secret("tabbed-creds", dcj, f"stringData:\n\t.dockerconfigjson: {c.password}\n"),
            _secret("broken-flow", dcj, f"data: {{.dockerconfigjson: {c.payload}, x: [}}\n"),
            _secret("templated", dcj, f"data:\n  .dockerconfigjson: {{{{ .Values.pull }}}}{c.payload}\n"),
            _secret("data-list", dcj, f"data:\n- {c.payload}\n"),
        ],
    }
    paths: dict[str, Path] = {}
    for name, documents in files.items():
        path = directory / name
        path.write_text("---\n".join(documents), encoding="utf-8")
        paths[name] = path
    json_list = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            json.loads(applied) | {"metadata": {"name": "json-creds", "namespace": "shop"}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "json-string", "namespace": "shop"},
                "type": dcj,
                "stringData": {".dockerconfigjson": c.config()},
            },
        ],
    }
    # PART A: a literal password in a committed script (PG010), the same credential in a second
    # namespace (PG007 fingerprints), a short-lived-token registry key (PG006)
    paths["deploy.sh"] = directory / "deploy.sh"
    paths["deploy.sh"].write_text(
        "kubectl create secret docker-registry script-creds -n shop --docker-server=registry.example.com \\\n"
        f"  --docker-username={c.username} --docker-password='{c.password}'\n",
        encoding="utf-8",
    )
    paths["reused.yaml"] = directory / "reused.yaml"
    paths["reused.yaml"].write_text(
        _secret("valid-creds", dcj, f"data:\n  .dockerconfigjson: {c.payload}\n").replace(
            "namespace: shop", "namespace: ops"
        )
        + "---\n"
        + _secret(
            "ecr-creds",
            dcj,
            f"data:\n  .dockerconfigjson: {b64(c.config('123456789012.dkr.ecr.eu-west-1.amazonaws.com'))}\n",
        ),
        encoding="utf-8",
    )
    paths["secrets.json"] = directory / "secrets.json"
    paths["secrets.json"].write_text(json.dumps(json_list, indent=2), encoding="utf-8")
    paths["broken.json"] = directory / "broken.json"
    paths["broken.json"].write_text(
        json.dumps(json_list["items"][0])[:-2] + f', "x": {c.password} }}', encoding="utf-8"
    )
    return paths


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, canary: Canary) -> dict[str, Path]:
    return build_inputs(tmp_path_factory.mktemp("canary-inputs"), canary)


def assert_clean(text: str, canary: Canary, where: str) -> None:
    for label, value in canary.forbidden().items():
        assert value not in text, f"{where}: the {label} leaked"
    leaked = [piece for piece in canary.base64_pieces() if piece in text]
    assert not leaked, f"{where}: base64 of a credential leaked: {leaked[:3]}"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PULLGUARD_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "pullguard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


FORMATS = {
    "text": ["--format", "text", "--show-fixes", "--images"],
    "json": ["--format", "json"],
    "sarif": ["--format", "sarif"],
    "markdown": ["--format", "markdown"],
    "junit": ["--format", "junit"],
    "html": ["--format", "html"],
}


def test_inputs_exercise_the_risky_paths(inputs: dict[str, Path]) -> None:
    """The canary inputs really produce the findings and problems whose messages could leak."""
    result = scan_paths([str(p) for p in inputs.values()], ScanOptions(assume_private=True))
    checks = {f.check_id for f in result.findings}
    assert {"PG001", "PG003", "PG004", "PG006", "PG007", "PG009", "PG010"} <= checks
    assert any(f.check_id == "PG010" and f.location.path.endswith("deploy.sh") for f in result.findings)
    codes = {p.code for p in result.problems}
    assert {"duplicate-key", "yaml-syntax", "json-syntax", "wrong-type"} <= codes
    malformed = {s.ref.name for s in result.inventory.secrets.values() if s.payload and s.payload.error}
    assert {"bad-auth", "no-colon", "wrong-json-type", "not-base64", "not-json"} <= malformed
    names = {name for _, name in result.inventory.secrets}
    assert {"listed-creds", "typed-list-creds", "json-creds", "json-string", "string-creds"} <= names


@pytest.mark.parametrize("output_format", sorted(FORMATS))
def test_no_leak_in_any_format(output_format: str, inputs: dict[str, Path], canary: Canary) -> None:
    directory = next(iter(inputs.values())).parent
    for extra in ([], ["--assume-private"]):
        done = run("scan", str(directory), *FORMATS[output_format], *extra)
        assert done.returncode == 2, done.stderr  # broken documents are in the input
        assert done.stdout
        assert_clean(done.stdout + done.stderr, canary, f"{output_format} {extra}")


@pytest.mark.parametrize(
    "name", ["valid.yaml", "malformed.yaml", "duplicate.yaml", "list.yaml", "broken.yaml"]
)
def test_no_leak_per_file_and_from_stdin(name: str, inputs: dict[str, Path], canary: Canary) -> None:
    path = inputs[name]
    for output_format, flags in FORMATS.items():
        done = run("scan", str(path), *flags, "--assume-private")
        assert done.returncode in (0, 1, 2) and done.stdout, done.stderr
        assert_clean(done.stdout + done.stderr, canary, f"{name} {output_format}")
    done = run("scan", "-", "--format", "text", "--show-fixes", "--images", stdin=path.read_text())
    assert_clean(done.stdout + done.stderr, canary, f"{name} from stdin")


def test_no_leak_in_output_file(inputs: dict[str, Path], canary: Canary, tmp_path: Path) -> None:
    directory = next(iter(inputs.values())).parent
    for output_format in FORMATS:
        target = tmp_path / f"report.{output_format}"
        done = run("scan", str(directory), "--format", output_format, "-o", str(target))
        assert_clean(done.stdout + done.stderr, canary, f"-o {output_format} console")
        assert_clean(target.read_text(encoding="utf-8"), canary, f"-o {output_format} file")


def test_duplicate_key_warning_hides_secret_values(inputs: dict[str, Path]) -> None:
    result = scan_paths([str(inputs["duplicate.yaml"]), str(inputs["list.yaml"])], ScanOptions())
    duplicates = [p for p in result.problems if p.code == "duplicate-key"]
    assert len(duplicates) == 4
    assert all(p.message.endswith("(value not shown: it belongs to a Secret)") for p in duplicates)


def test_repr_of_inventory_objects(inputs: dict[str, Path], canary: Canary) -> None:
    result = scan_paths([str(p) for p in inputs.values()], ScanOptions(assume_private=True))
    assert result.inventory.secrets
    for secret in result.inventory.secrets.values():
        assert_clean(repr(secret), canary, f"repr(Secret {secret.ref.name})")
        if secret.payload is not None:
            assert_clean(repr(secret.payload), canary, f"repr(payload of {secret.ref.name})")
            for entry in secret.payload.entries:
                assert_clean(repr(entry), canary, f"repr(entry of {secret.ref.name})")
                assert_clean(repr(entry.credential), canary, f"repr(credential of {secret.ref.name})")
                assert_clean(str(entry.credential), canary, f"str(credential of {secret.ref.name})")
    assert_clean(repr(result.inventory), canary, "repr(inventory)")
    assert_clean(repr(result.findings), canary, "repr(findings)")
    assert_clean(repr(result.problems), canary, "repr(problems)")
    assert_clean(repr(result.resolution.pods), canary, "repr(pods)")
    assert_clean(repr(result.summary), canary, "repr(summary)")
