"""The kubelet's credential inputs: strict CredentialProviderConfig decoding, a configuration
directory merged in lexicographic order, node config.json, and the order the kubelet tries
credentials in (pod secrets, node config.json, providers in configuration order)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pullguard.checks import REGISTRY
from pullguard.config import resolve_config, scan_options
from pullguard.errors import ConfigError
from pullguard.inventory.kubelet_config import KubeletInputs, decode_provider_config
from pullguard.inventory.kubelet_order import kubelet_view
from pullguard.scan import ScanOptions, scan_paths
from pullguard.sources.model import Location

HERE = Location("providers.yaml", 1, 1)


def provider(name: str, *match: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "matchImages": list(match),
        "defaultCacheDuration": "10m",
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        **extra,
    }


def config(*providers: dict[str, Any], version: str = "v1") -> str:
    return json.dumps(
        {
            "apiVersion": f"kubelet.config.k8s.io/{version}",
            "kind": "CredentialProviderConfig",
            "providers": list(providers),
        }
    )


def test_strict_decoding_names_every_unknown_or_mistyped_field() -> None:
    body = {
        "apiVersion": "kubelet.config.k8s.io/v1",
        "kind": "CredentialProviderConfig",
        "providers": [
            {**provider("a", "a.io"), "matchimages": ["x"], "args": "get", "env": [{"name": "A", "val": 1}]}
        ],
        "extra": True,
    }
    decoded = decode_provider_config(body, "providers.yaml", HERE, "kubelet.config.k8s.io/v1")
    messages = [m for _, m in decoded.errors]
    assert any(m.startswith("extra: unknown field") for m in messages)
    assert any(m.startswith("providers[0].matchimages: unknown field") for m in messages)  # case-sensitive
    assert any(m.startswith("providers[0].args: must be a list") for m in messages)
    assert any(m.startswith("providers[0].env[0].val: unknown field") for m in messages)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_decoding_never_raises(providers: Any) -> None:
    body = {
        "apiVersion": "kubelet.config.k8s.io/v1",
        "kind": "CredentialProviderConfig",
        "providers": providers,
    }
    decoded = decode_provider_config(body, "p", HERE, "kubelet.config.k8s.io/v1")
    inputs = KubeletInputs(provider_configs=[decoded])
    kubelet_view(inputs)  # validation never raises either


def _write_project(tmp_path: Path, files: dict[str, str], kubelet: str) -> Path:
    nodes = tmp_path / "nodes"
    (nodes / "providers").mkdir(parents=True)
    for name, text in files.items():
        (nodes / "providers" / name).write_text(text)
    (tmp_path / ".pullguard.yaml").write_text("kubelet:\n" + kubelet)
    return tmp_path


def _scan(project: Path, manifests: str) -> Any:
    (project / "app.yaml").write_text(manifests)
    loaded = resolve_config(None, False, [str(project)], frozenset(REGISTRY))
    options = scan_options(
        loaded,
        default_namespace="default",
        private_patterns=("*.example.com",),
        public_patterns=(),
        node_patterns=(),
        assume_private=False,
        disabled_checks=(),
        max_age_days=None,
    )
    return scan_paths([str(project / "app.yaml")], options)


POD = """apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: reg.example.com/shop/app:1
"""


def test_directory_is_merged_in_lexicographic_order_like_the_kubelet(tmp_path: Path) -> None:
    project = _write_project(
        tmp_path,
        {
            "20-second.yaml": config(provider("second", "*.example.com")),
            "10-first.json": config(provider("first", "reg.example.com")),
            "README.md": "not read",
        },
        "  providerConfig: nodes/providers\n  kubernetesVersion: v1.34\n",
    )
    result = _scan(project, POD)
    view = result.resolution.kubelet
    assert [p.name for p in view.providers] == ["first", "second"]
    (image,) = result.resolution.images
    assert image.coverage.value == "provider"
    assert image.matches[0].via == "provider first (node identity)"


def test_a_name_in_two_files_is_fatal(tmp_path: Path) -> None:
    project = _write_project(
        tmp_path,
        {"a.yaml": config(provider("same", "a.io")), "b.yaml": config(provider("same", "b.io"))},
        "  providerConfig: nodes/providers\n",
    )
    result = _scan(project, POD)
    assert result.resolution.kubelet.config_errors
    assert [f.check_id for f in result.findings if f.check_id == "PG019"] == ["PG019"]
    assert "duplicate provider name 'same'" in next(
        f.message for f in result.findings if f.check_id == "PG019"
    )


def test_configuration_errors_name_the_field(tmp_path: Path) -> None:
    project = _write_project(tmp_path, {}, "  providerConfig: nodes/providers\n")
    # each on the line of its own key: `kubelet.FIELD`, as suppressions[0].expires
    with pytest.raises(
        ConfigError, match=r"\.yaml:2: kubelet\.providerConfig: no \*\.json, \*\.yaml or \*\.yml file in"
    ):
        _scan(project, POD)
    (tmp_path / ".pullguard.yaml").write_text("kubelet:\n  featureGates: {}\n  kubernetesVersion: latest\n")
    with pytest.raises(
        ConfigError, match=r"\.yaml:3: kubelet\.kubernetesVersion: 'latest' is not a Kubernetes version"
    ):
        _scan(project, POD)


def _docker_config(entries: dict[str, dict[str, str]]) -> str:
    return json.dumps({"auths": entries})


def test_node_config_json_comes_before_providers_and_no_value_is_kept(tmp_path: Path) -> None:
    auth = base64.b64encode(b"node-user:node-canary-password").decode()
    project = _write_project(
        tmp_path,
        {"p.yaml": config(provider("prov", "*.example.com"))},
        "  providerConfig: nodes/providers\n  dockerConfig: nodes/config.json\n",
    )
    (project / "nodes" / "config.json").write_text(_docker_config({"reg.example.com": {"auth": auth}}))
    result = _scan(project, POD)
    (image,) = result.resolution.images
    assert image.coverage.value == "node"
    assert image.matches[0].via == f"node config {project / 'nodes' / 'config.json'}"
    assert "node-canary-password" not in repr(result.inventory.kubelet)


def test_anonymous_node_entry_falls_through_to_the_provider(tmp_path: Path) -> None:
    project = _write_project(
        tmp_path,
        {"p.yaml": config(provider("prov", "*.example.com"))},
        "  providerConfig: nodes/providers\n  dockerConfig: nodes/config.json\n",
    )
    (project / "nodes" / "config.json").write_text(
        _docker_config({"reg.example.com": {"identitytoken": "t"}})
    )
    (image,) = _scan(project, POD).resolution.images
    assert image.coverage.value == "provider"


def test_pod_secret_comes_first(tmp_path: Path) -> None:
    fixture = (
        Path(__file__).resolve().parents[1] / "fixtures" / "pg021" / "fail" / "identity_token_masked.yaml"
    )
    working = base64.b64encode(
        _docker_config({"harbor.example.com": {"username": "u", "password": "p"}}).encode()
    )
    copy = tmp_path / "app.yaml"
    text = fixture.read_text()
    start = text.index(".dockerconfigjson: ") + len(".dockerconfigjson: ")
    copy.write_text(text[:start] + working.decode() + text[text.index("\n", start) :])
    (image,) = scan_paths([str(copy)], ScanOptions()).resolution.images
    assert image.coverage.value == "pod"
    (image,) = scan_paths([str(fixture)], ScanOptions()).resolution.images
    assert image.coverage.value == "provider"  # the identity-token-only secret gives nothing


def test_static_pod_gets_no_service_account_token(tmp_path: Path) -> None:
    sa_mode = provider(
        "sa-prov",
        "*.example.com",
        tokenAttributes={
            "serviceAccountTokenAudience": "aud",
            "cacheType": "Token",
            "requireServiceAccount": True,
        },
    )
    node_mode = provider(
        "any-prov",
        "*.example.com",
        tokenAttributes={
            "serviceAccountTokenAudience": "aud",
            "cacheType": "Token",
            "requireServiceAccount": False,
        },
    )
    mirror = POD.replace(
        "metadata: {name: app, namespace: shop}",
        "metadata: {name: app, namespace: shop, annotations: {kubernetes.io/config.mirror: x}}",
    )
    project = _write_project(tmp_path, {"p.yaml": config(sa_mode)}, "  providerConfig: nodes/providers\n")
    (image,) = _scan(project, mirror).resolution.images
    assert image.coverage.value == "none"
    assert "static pod has none" in (image.cause or "")
    (project / "nodes" / "providers" / "p.yaml").write_text(config(sa_mode, node_mode))
    (image,) = _scan(project, mirror).resolution.images
    assert image.coverage.value == "provider"  # invoked without a token: the node's identity
    (image,) = _scan(project, POD).resolution.images
    assert image.coverage.value == "provider-sa-token"


def test_provider_names_repeat_across_node_pool_directories(tmp_path: Path) -> None:
    for pool in ("pool-a", "pool-b"):
        (tmp_path / pool).mkdir()
        (tmp_path / pool / "providers.json").write_text(config(provider("same", "*.example.com")))
    result = scan_paths([str(tmp_path)], ScanOptions())
    assert result.resolution.kubelet is not None and not result.resolution.kubelet.config_errors
    (tmp_path / "pool-a" / "more.json").write_text(config(provider("same", "other.example.com")))
    result = scan_paths([str(tmp_path)], ScanOptions())
    assert [f.check_id for f in result.findings if f.check_id == "PG019"] == ["PG019"]


CANARY = "node-config-canary-Zq8r-do-not-print"


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "markdown", "html", "junit"])
def test_node_config_json_values_never_printed(tmp_path: Path, output_format: str) -> None:
    from click.testing import CliRunner

    from pullguard.cli import main

    project = _write_project(
        tmp_path,
        {"p.yaml": config(provider("prov", "*.example.com"))},
        "  providerConfig: nodes/providers\n  dockerConfig: nodes/config.json\n",
    )
    auth = base64.b64encode(f"node-user:{CANARY}".encode()).decode()
    (project / "nodes" / "config.json").write_text(
        _docker_config({"reg.example.com": {"auth": auth, "password": CANARY}})
    )
    (project / "app.yaml").write_text(POD)
    done = CliRunner().invoke(
        main,
        [
            "scan",
            str(project / "app.yaml"),
            "-f",
            output_format,
            "--images",
            "--private-registry",
            "*.example.com",
        ],
    )
    assert done.exit_code in (0, 1), done.output
    assert CANARY not in done.output and auth not in done.output
    if output_format in ("text", "json"):  # the node config.json was read and serves the image
        assert "node config" in done.output
