"""A big `kind: List` document is read item by item (sources/yamlstream): the same manifests,
problems and counts as the ordinary reader, in bounded memory."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.sources import yamlstream
from pullguard.sources.model import ReadStats
from pullguard.sources.yamldocs import DocumentReader


def _read(text: str, stream: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any], Any]:
    monkeypatch.setattr(yamlstream, "STREAM_THRESHOLD", 0 if stream else 1 << 60)
    stats, problems = ReadStats(), []  # type: ignore[var-annotated]
    reader = DocumentReader(lambda _api, _kind: True, stats, problems)
    manifests = [
        (m.api_version, m.kind, m.name, m.namespace, m.location, dict(m.body or {}).get("data"))
        for m in reader.read_text("list.yaml", text)
    ]
    return manifests, [(p.location, p.level, p.code, p.message) for p in problems], stats


LISTS = [
    # kubectl's order: items before kind
    "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a, namespace: x}\n"
    "  data: {k: v, k: w}\n- kind: ConfigMap\n  metadata: {name: b}\nkind: List\nmetadata: {}\n",
    # a typed list: items without kind take it from the list
    "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p1}\n  spec: &s {containers: [{name: c, image: a/b:1}]}\n"
    "- metadata: {name: p2}\n  spec: *s\n",
    # not a mapping, an unhashable key, a null items
    "apiVersion: v1\nkind: List\nitems:\n- 5\n- {[a]: b, kind: Pod, apiVersion: v1}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: ok}\n",
    "apiVersion: v1\nkind: List\nitems: null\n",
    "apiVersion: v1\nkind: List\nitems: []\nmetadata: {a: 1, a: 2}\n",
]


@pytest.mark.parametrize("text", LISTS)
def test_streamed_lists_read_as_the_ordinary_reader_does(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ordinary = _read(text, False, monkeypatch)
    streamed = _read(text, True, monkeypatch)
    if "[a]" in text:
        # An unhashable key makes the whole document unreadable (kubectl refuses it); streamed, the
        # items before it are already read, so it costs its own item and the others are read.
        assert [m[2] for m in streamed[0]] == ["ok"] and ordinary[0] == []
        assert [p[2] for p in streamed[1]] == ["wrong-type", "yaml-syntax"]
        return
    assert streamed == ordinary


_names = st.text(alphabet="abcxyz-0123", min_size=1, max_size=6)
_item = st.fixed_dictionaries(
    {"kind": st.sampled_from(["Pod", "Secret", "ConfigMap", None]), "name": _names, "dup": st.booleans()}
)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(_item, max_size=8), kind=st.sampled_from(["List", "PodList", "SecretList"]))
def test_streamed_lists_match_the_ordinary_reader(items: list[dict[str, Any]], kind: str) -> None:
    lines = ["apiVersion: v1", "items:"]
    for item in items:
        lines.append(f"- metadata: {{name: {item['name']}}}")
        if item["kind"]:
            lines.append(f"  kind: {item['kind']}\n  apiVersion: v1")
        if item["dup"]:
            lines.append("  data: {x: secret-value, x: other-value}")
    lines.append(f"kind: {kind}")
    text = "\n".join(lines) + "\n"
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _read(text, True, monkeypatch) == _read(text, False, monkeypatch)


def test_a_big_list_is_read_in_bounded_memory() -> None:
    """Peak memory within 20x the document (it was ~60x: every item's nodes alive at once)."""
    count = 40_000
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: cm-{i}, namespace: ns}}\n"
        for i in range(count)
    )
    assert len(text) > yamlstream.STREAM_THRESHOLD
    reader = DocumentReader(lambda _api, _kind: False, ReadStats(), [])
    tracemalloc.start()
    try:
        read = sum(1 for _ in reader.read_text("list.yaml", text))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == count
    assert peak < 20 * len(text), peak / len(text)
