"""`kubectl get pods -A -o yaml|json | pullguard scan -`: replicas of one owner judged once, lines per item."""

from __future__ import annotations

import json

from gate_support import run
from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.sources.yamldocs import _json_item_lines


def replica(name: str, image: str = "myregistry.azurecr.io/web:1") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"pod-template-hash": "5d4f8c7b9"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-5d4f8c7b9",
                    "controller": True,
                    "uid": "u",
                }
            ],
        },
        "spec": {"serviceAccountName": "default", "containers": [{"name": "web", "image": image}]},
    }


def pod_list() -> dict[str, object]:
    items = [replica(f"web-5d4f8c7b9-{n}") for n in "abcde"]
    items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "namespace": "shop"},
                  "spec": {"containers": [{"name": "solo", "image": "myregistry.azurecr.io/solo:1"}]}})  # fmt: skip
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _pg001(stdout: str) -> list[dict[str, object]]:
    return [f for f in json.loads(stdout)["findings"] if f["checkId"] == "PG001"]


def test_five_replicas_of_one_deployment_are_one_finding_in_yaml() -> None:
    import yaml

    done = run("scan", "-", "-f", "json", stdin=yaml.safe_dump(pod_list()))
    findings = _pg001(done.stdout)
    assert sorted(f["object"]["name"] for f in findings) == ["solo", "web"], findings  # type: ignore[index]
    assert {f["object"]["kind"] for f in findings} == {"Deployment", "Pod"}  # type: ignore[index]


def test_json_input_reports_each_items_line() -> None:
    text = json.dumps(pod_list(), indent=2)
    done = run("scan", "-", "-f", "json", stdin=text)
    lines = text.splitlines()
    by_name = {f["object"]["name"]: f["location"] for f in _pg001(done.stdout)}  # type: ignore[index]
    assert by_name["web"]["item"] == 0 and by_name["solo"]["item"] == 5  # type: ignore[index]
    for name, where in by_name.items():
        line = where["line"]  # type: ignore[index]
        assert line > 1
        assert lines[line - 1].strip() == "{", (name, line)  # the item's opening brace
    solo = by_name["solo"]["line"]  # type: ignore[index]
    assert '"name": "solo"' in "\n".join(lines[solo - 1 : solo + 8])


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=6), values, max_size=4), max_size=6),
    st.sampled_from([None, 1, 2]),
)
def test_item_lines_match_a_real_json_encoder(items: list[dict[str, object]], indent: int | None) -> None:
    document = {"kind": "List", "metadata": {"items": "[{"}, "items": items}
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    got = _json_item_lines(text, 0, len(text))
    assert len(got) == len(items)
    # each item starts on the line of the n-th '{' that opens an element of "items"
    decoder = json.JSONDecoder()
    start = text.index('"items": [') + len('"items": [')
    position = start
    for line in got:
        while text[position] in " \n,":
            position += 1
        assert text.count("\n", 0, position) + 1 == line
        _, position = decoder.raw_decode(text, position)
