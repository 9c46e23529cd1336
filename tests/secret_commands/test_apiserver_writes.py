"""The write semantics of the API-server double, over real HTTP, as kube-apiserver behaves
(sources in tests/apiserver_writes.py). pullguard's own commands are tested against these."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiserver_double import ApiServerDouble, Denial
from apiserver_writes import PatchError, json_patch, merge_patch
from cluster.fixtures import deployment, pull_secret, service_account

SA = "/api/v1/namespaces/shop/serviceaccounts"
SECRETS = "/api/v1/namespaces/shop/secrets"
DEPLOY = "/apis/apps/v1/namespaces/shop/deployments"


@pytest.fixture
def api() -> Iterator[ApiServerDouble]:
    objects = {
        "namespaces": [{"metadata": {"name": "shop"}}],
        "serviceaccounts": [service_account("default", "shop", ["one", "two"])],
        "deployments": [deployment("web", "shop", "r.example/web:1", ["one"])],
        "secrets": [pull_secret("regcred", "shop", "r.example")],
    }
    with ApiServerDouble(objects) as double:
        yield double


def call(
    api: ApiServerDouble,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
    **params: str,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": content_type}
    content = json.dumps(body).encode() if body is not None else None
    with httpx.Client(trust_env=False, timeout=10) as client:
        return client.request(method, api.url + path, headers=headers, content=content, params=params)


def names(api: ApiServerDouble) -> list[str]:
    account = call(api, "GET", f"{SA}/default").json()
    return [ref["name"] for ref in account.get("imagePullSecrets", [])]


def test_strategic_merge_patch_replaces_a_serviceaccounts_list(api: ApiServerDouble) -> None:
    """What `kubectl patch serviceaccount default -p '{"imagePullSecrets": [...]}'` does: the list has
    no patchMergeKey (k8s.io/api core/v1 types.go), so the other secrets are silently detached."""
    response = call(
        api,
        "PATCH",
        f"{SA}/default",
        {"imagePullSecrets": [{"name": "new"}]},
        "application/strategic-merge-patch+json",
    )
    assert response.status_code == 200
    assert names(api) == ["new"]


def test_strategic_merge_patch_merges_a_pod_templates_list_by_name(api: ApiServerDouble) -> None:
    """PodSpec.imagePullSecrets has patchStrategy merge, patchMergeKey name."""
    patch = {"spec": {"template": {"spec": {"imagePullSecrets": [{"name": "new"}]}}}}
    assert (
        call(api, "PATCH", f"{DEPLOY}/web", patch, "application/strategic-merge-patch+json").status_code
        == 200
    )
    web = call(api, "GET", f"{DEPLOY}/web").json()
    assert web["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "one"}, {"name": "new"}]


def test_merge_patch_replaces_lists(api: ApiServerDouble) -> None:
    call(
        api, "PATCH", f"{SA}/default", {"imagePullSecrets": [{"name": "new"}]}, "application/merge-patch+json"
    )
    assert names(api) == ["new"]


def test_json_patch_appends_and_a_stale_resource_version_is_409(api: ApiServerDouble) -> None:
    rv = call(api, "GET", f"{SA}/default").json()["metadata"]["resourceVersion"]
    ops = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": "three"}},
    ]
    first = call(api, "PATCH", f"{SA}/default", ops, "application/json-patch+json")
    assert first.status_code == 200 and names(api) == ["one", "two", "three"]
    assert first.json()["metadata"]["resourceVersion"] != rv
    again = call(api, "PATCH", f"{SA}/default", ops, "application/json-patch+json")  # same, now stale rv
    assert again.status_code == 409 and again.json()["reason"] == "Conflict"
    assert "the object has been modified" in again.json()["message"]
    assert names(api) == ["one", "two", "three"]


def test_json_patch_failed_test_is_422(api: ApiServerDouble) -> None:
    ops = [{"op": "test", "path": "/imagePullSecrets/0/name", "value": "nope"}]
    response = call(api, "PATCH", f"{SA}/default", ops, "application/json-patch+json")
    assert response.status_code == 422


def test_put_with_a_stale_resource_version_is_409_and_without_one_is_unconditional(
    api: ApiServerDouble,
) -> None:
    secret = call(api, "GET", f"{SECRETS}/regcred").json()
    secret["metadata"]["labels"] = {"a": "1"}
    assert call(api, "PUT", f"{SECRETS}/regcred", secret).status_code == 200
    stale = call(api, "PUT", f"{SECRETS}/regcred", secret)
    assert stale.status_code == 409
    secret["metadata"].pop("resourceVersion")
    secret["metadata"]["labels"] = {"a": "2"}
    assert call(api, "PUT", f"{SECRETS}/regcred", secret).status_code == 200  # AllowUnconditionalUpdate
    assert call(api, "GET", f"{SECRETS}/regcred").json()["metadata"]["labels"] == {"a": "2"}


def test_put_keeps_uid_and_refuses_a_type_change(api: ApiServerDouble) -> None:
    secret = call(api, "GET", f"{SECRETS}/regcred").json()
    uid = secret["metadata"]["uid"]
    secret["metadata"]["uid"] = "something-else"
    updated = call(api, "PUT", f"{SECRETS}/regcred", secret).json()
    assert updated["metadata"]["uid"] == uid
    updated["type"] = "Opaque"
    response = call(api, "PUT", f"{SECRETS}/regcred", updated)
    assert response.status_code == 422 and "field is immutable" in response.json()["message"]


def test_post_creates_conflicts_and_validates_dockerconfigjson(api: ApiServerDouble) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "new"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(b'{"auths":{}}').decode()},
    }
    created = call(api, "POST", SECRETS, secret)
    assert created.status_code == 201 and created.json()["metadata"]["uid"]
    assert call(api, "POST", SECRETS, secret).json()["reason"] == "AlreadyExists"
    broken = {
        **secret,
        "metadata": {"name": "broken"},
        "data": {".dockerconfigjson": base64.b64encode(b"not json").decode()},
    }
    response = call(api, "POST", SECRETS, broken)
    assert response.status_code == 422 and "<secret contents redacted>" in response.json()["message"]
    missing = {**secret, "metadata": {"name": "missing"}, "data": {}}
    assert "Required value" in call(api, "POST", SECRETS, missing).json()["message"]


def test_post_into_a_missing_namespace_is_404(api: ApiServerDouble) -> None:
    response = call(
        api, "POST", "/api/v1/namespaces/nope/secrets", {"metadata": {"name": "x"}, "type": "Opaque"}
    )
    assert response.status_code == 404 and response.json()["message"] == 'namespaces "nope" not found'


def test_dry_run_all_answers_and_stores_nothing(api: ApiServerDouble) -> None:
    before = call(api, "GET", f"{SA}/default").json()
    ops = [{"op": "add", "path": "/imagePullSecrets/-", "value": {"name": "three"}}]
    response = call(api, "PATCH", f"{SA}/default", ops, "application/json-patch+json", dryRun="All")
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["imagePullSecrets"]] == ["one", "two", "three"]
    assert call(api, "GET", f"{SA}/default").json() == before
    assert (
        call(api, "PATCH", f"{SA}/default", ops, "application/json-patch+json", dryRun="Some").status_code
        == 400
    )


def test_write_denials_are_403_and_missing_objects_404(api: ApiServerDouble) -> None:
    api.denials.add(Denial("patch", "serviceaccounts", "shop"))
    ops = [{"op": "add", "path": "/imagePullSecrets/-", "value": {"name": "x"}}]
    denied = call(api, "PATCH", f"{SA}/default", ops, "application/json-patch+json")
    assert denied.status_code == 403 and 'cannot patch resource "serviceaccounts"' in denied.json()["message"]
    assert call(api, "PUT", f"{SECRETS}/nope", {"metadata": {"name": "nope"}}).status_code == 404


# -- RFC 6902 / 7386 properties --------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    doc=st.dictionaries(
        st.text(min_size=1, max_size=4).filter(lambda k: "/" not in k and "~" not in k),
        json_values,
        max_size=4,
    ),
    value=json_values,
)
def test_json_patch_add_then_remove_is_identity_and_test_sees_the_value(
    doc: dict[str, Any], value: Any
) -> None:
    key = "k" + "".join(sorted(doc))  # a key not in doc
    added = json_patch(doc, [{"op": "add", "path": f"/{key}", "value": value}])
    assert added[key] == value
    json_patch(added, [{"op": "test", "path": f"/{key}", "value": value}])
    assert json_patch(added, [{"op": "remove", "path": f"/{key}"}]) == doc
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "remove", "path": f"/{key}"}])


@settings(max_examples=200, deadline=None)
@given(target=json_values, patch=json_values)
def test_merge_patch_is_idempotent(target: Any, patch: Any) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
