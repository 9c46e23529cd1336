"""A live cluster's replicas are judged once; the shortcut that skips building a replica's
template (inventory/live.py `_raw_pod_key`) must give the very inventory a full build gives.

The fields of the duplicate key (ServiceAccount, pull secrets, container names and images,
image volumes) are drawn with wrong shapes too: such a pod is built and its problem reported.
The other fields a template reads (env, automountServiceAccountToken, secret volumes) are
drawn as the API server admits them: a replica's are not read again."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.inventory import live
from pullguard.inventory.live import LiveInventoryBuilder
from pullguard.inventory.model import Inventory
from pullguard.sources.model import Location, Manifest

IMAGES = st.sampled_from(
    [None, "", "registry.corp.example/app:1", "nginx:1.27", "{{ .Values.image }}", "UPPER::bad", 5]
)
NAMES = st.sampled_from([None, "app", "sidecar", 7])
SECRET_REF = st.fixed_dictionaries({"name": st.sampled_from([None, "", "regcred", "other"])})


def containers() -> st.SearchStrategy[Any]:
    container = st.fixed_dictionaries(
        {"name": NAMES, "image": IMAGES},
        optional={
            "env": st.sampled_from(
                [[], [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}], "bad"]
            )
        },
    )
    return st.one_of(st.none(), st.lists(container, max_size=2), st.just("not-a-list"))


SPECS = st.fixed_dictionaries(
    {"containers": containers()},
    optional={
        "initContainers": containers(),
        "serviceAccountName": st.sampled_from([None, "", "builder", 3]),
        "serviceAccount": st.sampled_from(["legacy", None]),
        "imagePullSecrets": st.one_of(st.lists(SECRET_REF, max_size=2), st.just([["x"]])),
        "automountServiceAccountToken": st.sampled_from([True, False]),
        "volumes": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["data", "img"])},
                optional={
                    "image": st.one_of(st.fixed_dictionaries({"reference": IMAGES}), st.just("bad")),
                    "secret": st.fixed_dictionaries({"secretName": st.sampled_from(["s", "t"])}),
                },
            ),
            max_size=2,
        ),
    },
)
# one field of a spec replaced: replicas that differ in exactly one place
OVERRIDES = st.one_of(
    st.none(),
    st.fixed_dictionaries({"containers": containers()}),
    st.fixed_dictionaries({"initContainers": containers()}),
    st.fixed_dictionaries({"serviceAccountName": st.sampled_from([None, "", "builder", 3])}),
    st.fixed_dictionaries({"serviceAccount": st.sampled_from(["legacy", None])}),
    st.fixed_dictionaries({"imagePullSecrets": st.lists(SECRET_REF, max_size=2)}),
    st.fixed_dictionaries({"automountServiceAccountToken": st.sampled_from([True, False])}),
    st.fixed_dictionaries({"volumes": st.just([{"name": "img", "image": {"reference": "nginx:1.27"}}])}),
)


@st.composite
def replicas(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Pods drawn from a few specs, each maybe with one field changed."""
    pool = draw(st.lists(st.one_of(SPECS, st.none()), min_size=1, max_size=3))
    pods = []
    for _ in range(draw(st.integers(1, 12))):
        spec = draw(st.sampled_from(pool))
        override = draw(OVERRIDES)
        if spec is not None and override is not None:
            spec = {**spec, **override}
        containers = spec.get("containers") if spec is not None else None
        if isinstance(containers, list) and containers and draw(st.booleans()):
            renamed = {**containers[0], "name": draw(NAMES)}  # the same image in a container of another name
            spec = {**spec, "containers": [renamed, *containers[1:]]}
        pods.append((draw(st.sampled_from(["web", "api"])), spec))
    return pods


def _pods(drawn: list[tuple[str, Any]]) -> list[Manifest]:
    manifests = []
    for index, (deployment, spec) in enumerate(drawn):
        name = f"{deployment}-5d4f8-{index:05d}"
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "labels": {"pod-template-hash": "5d4f8"},
                "ownerReferences": [
                    {"kind": "ReplicaSet", "name": f"{deployment}-5d4f8", "controller": True}
                ],
            },
        }
        if spec is not None:
            body["spec"] = spec
        manifests.append(
            Manifest("v1", "Pod", name, "shop", body, Location(f"prod:/api/v1/pods/{name}", 1, 1))
        )
    return manifests


def _build(manifests: list[Manifest]) -> tuple[Inventory, live.LiveStats]:
    builder = LiveInventoryBuilder("default")
    return builder.add_all(manifests), builder.stats


@settings(max_examples=300, deadline=None)
@given(replicas())
def test_skipping_replicas_gives_the_full_build(drawn: list[tuple[str, Any]]) -> None:
    manifests = _pods(drawn)
    fast, fast_stats = _build(manifests)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live, "_raw_pod_key", lambda spec: None)  # every pod's template built
        full, full_stats = _build(manifests)
    assert fast.pod_templates == full.pod_templates
    assert fast.problems == full.problems
    assert fast_stats == full_stats


def test_replicas_are_not_rebuilt() -> None:
    """1,000 replicas of one Deployment: one template, built once (the speed of README "Scale")."""
    spec = {"containers": [{"name": "app", "image": "registry.corp.example/app:1"}]}
    manifests = _pods([("web", spec)] * 1000)
    builds = 0
    builder = LiveInventoryBuilder("default")
    original = builder.base.pod_template

    def counting(*args: Any) -> Any:
        nonlocal builds
        builds += 1
        return original(*args)

    builder.base.pod_template = counting  # type: ignore[method-assign,assignment]
    inventory = builder.add_all(manifests)
    assert builds == 1
    assert len(inventory.pod_templates) == 1
    assert builder.stats.pods == 1000


BASE_SPEC: dict[str, Any] = {
    "serviceAccountName": "builder",
    "imagePullSecrets": [{"name": "regcred"}],
    "containers": [{"name": "app", "image": "registry.corp.example/app:1"}],
    "initContainers": [{"name": "init", "image": "registry.corp.example/init:1"}],
    "volumes": [{"name": "img", "image": {"reference": "registry.corp.example/data:1"}}],
}


@pytest.mark.parametrize(
    "change",
    [
        {"serviceAccountName": "other"},
        {"serviceAccount": "legacy", "serviceAccountName": None},
        {"imagePullSecrets": [{"name": "other"}]},
        {"containers": [{"name": "renamed", "image": "registry.corp.example/app:1"}]},
        {"containers": [{"name": "app", "image": "registry.corp.example/app:2"}]},
        {"initContainers": [{"name": "init", "image": "registry.corp.example/init:2"}]},
        {"ephemeralContainers": [{"name": "debug", "image": "busybox:1"}]},
        {"volumes": [{"name": "img", "image": {"reference": "registry.corp.example/data:2"}}]},
        {"volumes": [{"name": "img2", "image": {"reference": "registry.corp.example/data:1"}}]},
    ],
)
def test_replicas_differing_in_a_key_field_are_both_judged(change: dict[str, Any]) -> None:
    manifests = _pods([("web", BASE_SPEC), ("web", BASE_SPEC), ("web", {**BASE_SPEC, **change})])
    fast, _ = _build(manifests)
    assert len(fast.pod_templates) == 2
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live, "_raw_pod_key", lambda spec: None)
        full, _ = _build(manifests)
    assert fast.pod_templates == full.pod_templates


def test_replicas_differing_in_the_deprecated_service_account_field_are_both_judged() -> None:
    """spec.serviceAccount (deprecated) names the account when serviceAccountName is absent."""
    legacy = {key: value for key, value in BASE_SPEC.items() if key != "serviceAccountName"}
    manifests = _pods(
        [("web", {**legacy, "serviceAccount": "a"}), ("web", {**legacy, "serviceAccount": "b"})]
    )
    fast, _ = _build(manifests)
    assert [t.service_account for t in fast.pod_templates] == ["a", "b"]
