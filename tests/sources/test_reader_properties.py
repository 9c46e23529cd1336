"""Properties of the file reader: it never raises on content, and YAML and JSON agree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pullguard.errors import PullguardError
from pullguard.inventory.kinds import needs_body
from pullguard.sources.files import FileSource
from pullguard.sources.yamldocs import _plain_scalar


class _KubectlDumper(yaml.SafeDumper):
    """PyYAML's dumper quotes a string its own resolver would read as something else; kubectl's
    YAML (go-yaml v2) reads more plain texts as booleans and numbers (`Y`, `1e3`, `0o17`), and so
    does the reader: those strings are quoted too, so the YAML says what the JSON says."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    try:
        plain_reads_as_text = isinstance(_plain_scalar(value, 0), str)
    except PullguardError:
        plain_reads_as_text = False
    style = None if plain_reads_as_text else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlDumper.add_representer(str, _represent_str)


def as_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_KubectlDumper)


PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
metadata = st.fixed_dictionaries(
    {}, optional={"name": st.text(max_size=8) | st.integers(), "namespace": st.text(max_size=8) | st.none()}
)
objects = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "apps/v1", "example.com/v1", "apiextensions.k8s.io/v1"]),
        "kind": st.sampled_from(
            ["Pod", "ConfigMap", "Secret", "Widget", "Deployment", "CustomResourceDefinition"]
        ),
    },
    optional={"metadata": metadata, "spec": trees, "data": trees},
)
lists = st.fixed_dictionaries(
    {
        "apiVersion": st.just("v1"),
        "kind": st.sampled_from(["List", "ConfigMapList", "PodList"]),
        "items": st.none() | st.lists(objects | trees, max_size=3),
    }
)
documents = st.lists(
    objects | lists | st.dictionaries(st.text(max_size=8), trees, max_size=4) | st.lists(trees, max_size=3),
    min_size=1,
    max_size=5,
)


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def read(path: Path) -> tuple[list[Any], FileSource]:
    source = FileSource(needs_body)
    return list(source.read([str(path)])), source


@PROPERTY
@given(
    data=st.binary(max_size=400)
    | st.text(alphabet="{}[]-:#&*!|>'\"\n\t ab1.%$", max_size=200).map(str.encode)
)
def test_arbitrary_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    manifests, source = read(path)
    assert source.stats.files == 1
    assert source.stats.objects == len(manifests)
    for name in ("fuzz.json", "fuzz.yml"):
        other = tmp_path / name
        other.write_bytes(data)
        read(other)


@PROPERTY
@given(docs=documents)
def test_yaml_streams_count_every_document(tmp_path: Path, docs: list[Any]) -> None:
    # A leading comment keeps a first `{}` or `[]` from making the file a JSON stream.
    text = "# generated\n" + "---\n".join(as_yaml(doc) for doc in docs)
    path = tmp_path / "docs.yaml"
    path.write_text(text, encoding="utf-8")
    manifests, source = read(path)
    assert source.stats.documents == len(docs)
    assert sum(source.stats.skipped.values()) + source.stats.lists + source.stats.objects >= len(docs)
    assert [p.code for p in source.problems if p.level == "error"] == [
        p.code for p in source.problems if p.code in ("missing-kind", "wrong-type")
    ]
    assert {m.location.document for m in manifests} <= set(range(1, len(docs) + 1))


@PROPERTY
@given(docs=documents)
@example(docs=[{"apiVersion": "v1", "kind": "Pod", "spec": "Y"}])  # a string kubectl's YAML reads as true
def test_json_and_yaml_give_the_same_objects(tmp_path: Path, docs: list[Any]) -> None:
    yaml_path = tmp_path / "docs.yaml"
    yaml_path.write_text("# generated\n" + "---\n".join(as_yaml(doc) for doc in docs), encoding="utf-8")
    json_path = tmp_path / "docs.json"
    json_path.write_text("\n".join(json.dumps(doc) for doc in docs), encoding="utf-8")
    from_yaml, yaml_source = read(yaml_path)
    from_json, json_source = read(json_path)

    def seen(manifests: list[Any]) -> list[Any]:
        return [
            (
                m.api_version,
                m.kind,
                m.name,
                m.namespace,
                m.location.document,
                m.location.item,
                None if m.body is None else plain(m.body),
            )
            for m in manifests
        ]

    assert seen(from_yaml) == seen(from_json)
    yaml_source.stats.fast_documents = 0  # which YAML reader took a document is not what is compared
    json_source.stats.json_documents = 0  # nor which documents were JSON
    assert yaml_source.stats == json_source.stats
    assert [
        (p.code, p.location.document, p.location.item) for p in yaml_source.problems if p.level == "error"
    ] == [(p.code, p.location.document, p.location.item) for p in json_source.problems]
