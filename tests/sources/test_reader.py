"""The file reader's contract, through `FileSource(needs_body).read([path])` on small files."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pullguard.errors import InputError
from pullguard.inventory.kinds import needs_body
from pullguard.scan import ScanOptions, scan_paths
from pullguard.sources import files
from pullguard.sources.fastyaml import FastMap
from pullguard.sources.files import FileSource
from pullguard.sources.model import InputProblem, Level, Location, Manifest
from pullguard.sources.yamldocs import LineMap

POD_A = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"  # 4 lines
POD_B = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n"


def read(path: Path | str) -> tuple[list[Manifest], FileSource]:
    source = FileSource(needs_body)
    return list(source.read([str(path)])), source


def write(tmp_path: Path, content: str | bytes, name: str = "in.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def identities(manifests: list[Manifest]) -> list[tuple[Any, ...]]:
    return [(m.kind, m.name, m.location.document, m.location.line, m.location.item) for m in manifests]


def codes(problems: list[InputProblem]) -> list[tuple[str, int, int, int | None]]:
    return [(p.code, p.location.document, p.location.line, p.location.item) for p in problems]


# -- documents, separators, skip reasons, identity ----------------------------------------------

# (id, text, documents, skipped, manifests (kind, name, document, line, item), problems (code, document, line, item))
CASES: list[tuple[str, str, int, dict[str, int], list[tuple[Any, ...]], list[tuple[Any, ...]]]] = [
    ("one document", POD_A, 1, {}, [("Pod", "a", 1, 1, None)], []),
    (
        "two documents",
        POD_A + "---\n" + POD_B,
        2,
        {},
        [("Pod", "a", 1, 1, None), ("Pod", "b", 2, 6, None)],
        [],
    ),
    (
        "separator with a comment and blanks",
        "---   # first\n" + POD_A + "---\t\n\n" + POD_B,
        2,
        {},
        [("Pod", "a", 1, 2, None), ("Pod", "b", 2, 8, None)],  # an object's line: its first line
        [],
    ),
    (
        "runs of separators and a trailing one",
        "---\n---\n" + POD_A + "---\n---\n\n---\n",
        1,
        {},
        [("Pod", "a", 1, 3, None)],
        [],
    ),
    (
        "text after the separator refuses that document only",
        POD_A
        + "--- foo\n"
        + POD_B
        + "---bar\n"
        + "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n---\n"
        + POD_B,
        4,
        {"unreadable": 2},
        [("Pod", "a", 1, 1, None), ("Pod", "b", 4, 15, None)],
        [("invalid-separator", 2, 6, None), ("invalid-separator", 3, 11, None)],
    ),
    (
        "separator not at line start is content",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k: |\n    a\n    ---\n    b\n",
        1,
        {},
        [("ConfigMap", "x", 1, 1, None)],
        [],
    ),
    (
        "comment-only documents are empty",
        "# header\n---\n" + POD_A + "---\n# trailer\n",
        3,
        {"empty": 2},
        [("Pod", "a", 2, 3, None)],
        [],
    ),
    (
        "sequences and scalars are not mappings",
        "- a\n- b\n---\nhello\n---\n" + POD_A,
        3,
        {"not-a-mapping": 2},
        [("Pod", "a", 3, 6, None)],
        [],
    ),
    (
        "a mapping without apiVersion and kind",
        "replicaCount: 1\nimage: {repository: nginx}\n---\napiVersion: null\nkind: null\nx: 1\n",
        2,
        {"not-kubernetes": 2},
        [],
        [],
    ),
    (
        "only one of apiVersion and kind",
        "kind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ''\n"
        "---\napiVersion: v1\nkind: 5\n---\n" + POD_B,
        5,
        {"unreadable": 4},
        [("Pod", "b", 5, 13, None)],
        [
            ("missing-kind", 1, 1, None),
            ("missing-kind", 2, 4, None),
            ("missing-kind", 3, 7, None),
            ("missing-kind", 4, 10, None),
        ],
    ),
    (
        "generateName and namespace",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: run-\n  namespace: ci\n"
        "spec: {template: {spec: {containers: []}}}\n",
        1,
        {},
        [("Job", "run-*", 1, 1, None)],
        [],
    ),
    (
        "kind: List with items",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n"
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n",
        1,
        {},
        [("Pod", "a", 1, 4, 0), ("Deployment", "d", 1, 7, 1)],
        [],
    ),
    (
        "kind: List items need their own kind and apiVersion",
        "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n- 42\n- apiVersion: v1\n  kind: Pod\n"
        "  metadata: {name: p}\n",
        1,
        {"unreadable": 2},
        [("Pod", "p", 1, 6, 2)],
        [("missing-kind", 1, 4, 0), ("wrong-type", 1, 5, 1)],
    ),
    (
        "typed lists: items inherit kind and apiVersion",
        "apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: one}\n- metadata: {name: two}\n"
        "  kind: Secret\n",
        1,
        {},
        [("ConfigMap", "one", 1, 4, 0), ("Secret", "two", 1, 5, 1)],
        [],
    ),
    (
        "empty and null items",
        "apiVersion: v1\nkind: ConfigMapList\nitems: []\n---\napiVersion: v1\nkind: PodList\nitems:\n",
        2,
        {},
        [],
        [],
    ),
    (
        "items that are a scalar",
        "apiVersion: v1\nkind: PodList\nitems: nope\n---\n" + POD_B,
        2,
        {"unreadable": 1},
        [("Pod", "b", 2, 5, None)],
        [("wrong-type", 1, 1, None)],
    ),
    (
        "a *List kind without items is an object",
        "apiVersion: example.com/v1\nkind: AllowList\nmetadata: {name: w}\nspec: {}\n",
        1,
        {},
        [("AllowList", "w", 1, 1, None)],
        [],
    ),
    (
        "broken YAML hides nothing after it",
        POD_A + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: x\n---\n" + POD_B,
        3,
        {"unreadable": 1},
        [("Pod", "a", 1, 1, None), ("Pod", "b", 3, 10, None)],
        [("yaml-syntax", 2, 9, None)],
    ),
    (
        "bad indentation",
        "apiVersion: v1\nkind: Pod\n  metadata: x\n---\n" + POD_B,
        2,
        {"unreadable": 1},
        [("Pod", "b", 2, 5, None)],
        [("yaml-syntax", 1, 3, None)],
    ),
    (
        "helm template as a key",
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  {{- include "labels" . }}\n---\n' + POD_B,
        2,
        {"unreadable": 1},
        [("Pod", "b", 2, 7, None)],
        [("template", 1, 6, None)],  # where libyaml noticed
    ),
    (
        "helm template in an unbuilt kind",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  {{ .Values.meta }}: x\n---\n" + POD_B,
        2,
        {"unreadable": 1},
        [("Pod", "b", 2, 6, None)],
        [("template", 1, 4, None)],
    ),
    (
        "helm range around documents",
        "{{ range .Values.items }}\n---\n" + POD_B + "{{ end }}\n",
        2,
        {"unreadable": 2},
        [],
        [("template", 1, 1, None), ("template", 2, 8, None)],
    ),
    (
        "jinja and shell substitutions",
        "{% raw %}\n" + POD_A + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${NAME}\n---\n" + POD_B,
        3,
        {"unreadable": 2},
        [("Pod", "b", 3, 11, None)],
        [("template", 1, 1, None), ("template", 2, 9, None)],
    ),
    (
        "a template inside a string is readable",
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "{{ .Values.name }}"\nspec:\n  containers:\n'
        "  - image: ${IMAGE}\n",
        1,
        {},
        [("Pod", "{{ .Values.name }}", 1, 1, None)],
        [],
    ),
    (
        # A file that starts with JSON is a JSON stream (kubectl's YAMLOrJSONDecoder guesses the
        # same way): a `---` after the first value is a JSON syntax error that ends the file.
        "a JSON document then YAML",
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}\n---\n' + POD_B,
        2,
        {"unreadable": 1},
        [("Pod", "a", 1, 1, None)],
        [("json-syntax", 2, 2, None)],
    ),
]


@pytest.mark.parametrize(
    ("text", "documents", "skipped", "manifests", "problems"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_documents(
    tmp_path: Path,
    text: str,
    documents: int,
    skipped: dict[str, int],
    manifests: list[tuple[Any, ...]],
    problems: list[tuple[Any, ...]],
) -> None:
    path = write(tmp_path, text)
    read_manifests, source = read(path)
    assert source.stats.files == 1
    assert source.stats.documents == documents
    assert dict(source.stats.skipped) == skipped
    assert identities(read_manifests) == manifests
    assert codes(source.problems) == problems
    assert source.stats.objects == len(manifests)
    assert all(m.location.path == str(path) for m in read_manifests)
    assert all(p.location.path == str(path) for p in source.problems)
    assert all(p.level is Level.ERROR for p in source.problems)


def test_locations_are_exact_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# c\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: ns}\n",
    )
    [manifest], _ = read(path)
    assert manifest.location == Location(str(path), 2, 6, 0)
    assert (manifest.api_version, manifest.kind, manifest.name, manifest.namespace) == (
        "v1",
        "Pod",
        "p",
        "ns",
    )
    assert str(manifest.location) == f"{path}: document 2, item 0, line 6"


def test_stats_count_lists_and_kinds(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n---\n"
        "apiVersion: v1\nkind: ConfigMapList\nitems: []\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n- x\n---\nfoo: bar\n---\n# c\n"
    )
    _, source = read(write(tmp_path, text))
    stats = source.stats
    assert (stats.files, stats.documents, stats.objects, stats.lists) == (1, 6, 3, 2)
    assert dict(stats.kinds) == {"Pod": 2, "Service": 1}
    assert dict(stats.skipped) == {"not-a-mapping": 1, "not-kubernetes": 1, "empty": 1}


# -- duplicate keys -------------------------------------------------------------------------


def test_duplicate_key_warning_names_line_key_and_last_value(tmp_path: Path) -> None:
    text = (
        POD_A
        + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector: {a: 1}\n"
        "  replicas: 1\n  selector: {b: 2}\n  template:\n    spec:\n      containers: []\n"
        "      restartPolicy: Never\n      restartPolicy: Always\n"
    )
    manifests, source = read(write(tmp_path, text))
    assert identities(manifests) == [("Pod", "a", 1, 1, None), ("Deployment", "d", 2, 6, None)]
    assert codes(source.problems) == [("duplicate-key", 2, 13, None), ("duplicate-key", 2, 18, None)]
    assert all(p.level is Level.WARNING for p in source.problems)
    selector, policy = (p.message for p in source.problems)
    assert "'selector'" in selector and "first at line 11" in selector and "mapping at line 13" in selector
    assert "'restartPolicy'" in policy and "first at line 17" in policy and "at line 18" in policy
    assert "Always" not in policy  # values are never quoted: any field may hold a credential
    body = manifests[1].body
    assert body is not None and body["spec"]["selector"] == {"b": 2}  # the last value wins


def test_duplicate_key_in_an_unbuilt_kind_is_reported(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  k: one\n  k: two\n"
    [manifest], source = read(write(tmp_path, text))
    assert manifest.body is None
    assert codes(source.problems) == [("duplicate-key", 1, 6, None)]
    assert "two" not in source.problems[0].message and "value not shown" in source.problems[0].message


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n"
        "stringData:\n  password: hunter2-first\n  password: hunter2-canary\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  token: aHVudGVyMi1maXJzdA==\n"
        "  token: aHVudGVyMi1jYW5hcnk=\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: hunter2-first\ntype: hunter2-canary\n",
        "apiVersion: v1\nkind: SecretList\nitems:\n- metadata: {name: s}\n  stringData:\n"
        "    password: hunter2-first\n    password: hunter2-canary\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n"
        "  stringData:\n    password: hunter2-first\n    password: hunter2-canary\n",
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s}\nspec:\n"
        "  encryptedData:\n    p: hunter2-first\n    p: hunter2-canary\n",
    ],
    ids=["stringData", "data", "top-level", "SecretList", "List of Secret", "SealedSecret"],
)
def test_duplicate_key_in_a_secret_never_shows_the_value(tmp_path: Path, text: str) -> None:
    _, source = read(write(tmp_path, text))
    [problem] = source.problems
    assert problem.code == "duplicate-key"
    assert "hunter2" not in problem.message and "aHVudGVy" not in problem.message
    assert "hunter2" not in str(problem)
    assert "value not shown" in problem.message


# -- JSON -------------------------------------------------------------------------------------

JSON_POD = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "%s"}}'


@pytest.mark.parametrize(
    ("name", "text", "documents", "skipped", "manifests", "problems"),
    [
        ("one.json", "\n  " + JSON_POD % "a" + "\n", 1, {}, [("Pod", "a", 1, 2, None)], []),
        (
            "lines.json",
            JSON_POD % "a" + "\n" + JSON_POD % "b" + "\n\n" + JSON_POD % "c",
            3,
            {},
            [("Pod", "a", 1, 1, None), ("Pod", "b", 2, 2, None), ("Pod", "c", 3, 4, None)],
            [],
        ),
        (
            "pretty.json",
            '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "a"}\n}\n' + JSON_POD % "b",
            2,
            {},
            [("Pod", "a", 1, 1, None), ("Pod", "b", 2, 6, None)],
            [],
        ),
        (
            "list.json",
            '{"apiVersion": "v1", "kind": "List", "items": [' + JSON_POD % "a" + ", 7]}",
            1,
            {"unreadable": 1},
            [("Pod", "a", 1, 1, 0)],
            [("wrong-type", 1, 1, 1)],
        ),
        (
            "typed.json",
            '{"apiVersion": "v1", "kind": "ConfigMapList", "items": [{"metadata": {"name": "c"}}]}\n'
            '{"apiVersion": "v1", "kind": "PodList", "items": null}',
            2,
            {},
            [("ConfigMap", "c", 1, 1, 0)],
            [],
        ),
        (
            "skips.json",
            '[1, 2]\n"text"\nnull\n{"a": 1}\n{"kind": "Pod"}\n',
            5,
            {"not-a-mapping": 2, "empty": 1, "not-kubernetes": 1, "unreadable": 1},
            [],
            [("missing-kind", 5, 5, None)],
        ),
        (
            "invalid.json",
            "[\n",
            1,
            {"unreadable": 1},
            [],
            [("json-syntax", 1, 2, None)],
        ),
        (
            "second-invalid.json",
            JSON_POD % "a" + "\n{nope}\n" + JSON_POD % "c",
            2,
            {"unreadable": 1},
            [("Pod", "a", 1, 1, None)],
            [("json-syntax", 2, 2, None)],
        ),
        (
            "flow.yaml",  # not JSON: read as YAML
            "{apiVersion: v1, kind: Pod, metadata: {name: a}}\n---\n" + POD_B,
            2,
            {},
            [("Pod", "a", 1, 1, None), ("Pod", "b", 2, 3, None)],
            [],
        ),
        (
            "flow-broken.yaml",
            "{apiVersion: v1, kind: Pod\n---\n" + POD_B,
            2,
            {"unreadable": 1},
            [("Pod", "b", 2, 3, None)],
            [("yaml-syntax", 1, 2, None)],
        ),
        (
            "no-suffix",
            JSON_POD % "a" + "\n" + JSON_POD % "b",
            2,
            {},
            [("Pod", "a", 1, 1, None), ("Pod", "b", 2, 2, None)],
            [],
        ),
    ],
)
def test_json(
    tmp_path: Path,
    name: str,
    text: str,
    documents: int,
    skipped: dict[str, int],
    manifests: list[tuple[Any, ...]],
    problems: list[tuple[Any, ...]],
) -> None:
    read_manifests, source = read(write(tmp_path, text, name))
    assert source.stats.documents == documents
    assert dict(source.stats.skipped) == skipped
    assert identities(read_manifests) == manifests
    assert codes(source.problems) == problems


# -- encodings --------------------------------------------------------------------------------

TEXT = POD_A + "---\n" + POD_B


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode(),
        b"\xef\xbb\xbf" + TEXT.encode(),
        TEXT.replace("\n", "\r\n").encode(),
        b"\xef\xbb\xbf" + TEXT.replace("\n", "\r\n").encode(),
        b"\xff\xfe" + TEXT.replace("\n", "\r\n").encode("utf-16-le"),
        b"\xfe\xff" + TEXT.encode("utf-16-be"),
        b"\xff\xfe\x00\x00" + TEXT.encode("utf-32-le"),
        b"\x00\x00\xfe\xff" + TEXT.replace("\n", "\r\n").encode("utf-32-be"),
    ],
    ids=["utf-8", "utf-8 bom", "crlf", "bom crlf", "utf-16le crlf", "utf-16be", "utf-32le", "utf-32be crlf"],
)
def test_encodings(tmp_path: Path, data: bytes) -> None:
    manifests, source = read(write(tmp_path, data))
    assert identities(manifests) == [("Pod", "a", 1, 1, None), ("Pod", "b", 2, 6, None)]
    assert source.problems == []
    assert manifests[0].body is not None and manifests[0].body["metadata"] == {"name": "a"}


@pytest.mark.parametrize(
    "data",
    [
        "name: caf\u00e9\n".encode("latin-1"),
        b"\xff\xfe" + b"\x00\xd8",  # a lone surrogate
        b"\xfe\xff\x00",  # odd length
    ],
    ids=["latin-1", "lone surrogate", "truncated utf-16"],
)
def test_bad_encoding_is_a_file_problem_and_the_run_goes_on(tmp_path: Path, data: bytes) -> None:
    bad = write(tmp_path, data, "a.yaml")
    write(tmp_path, POD_B, "b.yaml")
    source = FileSource(needs_body)
    manifests = list(source.read([str(tmp_path)]))
    assert identities(manifests) == [("Pod", "b", 1, 1, None)]
    assert [(p.code, p.location, p.level) for p in source.problems] == [
        ("encoding", Location(str(bad), 0, 0), Level.ERROR)
    ]
    assert (source.stats.files, source.stats.documents) == (2, 1)


def test_empty_and_blank_files(tmp_path: Path) -> None:
    write(tmp_path, b"", "a.yaml")
    write(tmp_path, b"\n \n\t\n", "b.json")
    write(tmp_path, b"\xef\xbb\xbf", "c.yml")
    manifests, source = read(tmp_path)
    assert manifests == [] and source.problems == []
    assert (source.stats.files, source.stats.documents) == (3, 0)


# -- bodies -------------------------------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: busybox
      containers:
      - name: app
        command: [sh]
        image: registry.example.com/app:1
      volumes:
      - name: data
        image:
          reference: registry.example.com/data:1
"""


def test_bodies_are_built_only_where_needed(tmp_path: Path) -> None:
    text = "---\n".join(
        [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: crd}\n"
            "spec: {group: example.com}\n",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {x: 1}\n",
            "apiVersion: example.com/v1\nkind: ConfigMap\nmetadata: {name: not-core}\n",
            DEPLOYMENT,
        ]
    )
    manifests, source = read(write(tmp_path, text))
    assert source.problems == []
    built = {m.name: m.body for m in manifests}
    assert built["cm"] is None and built["crd"] is None
    for name in ("s", "w", "not-core", "web"):
        assert isinstance(built[name], LineMap | FastMap), name  # both readers locate what they build
    assert built["w"] == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"x": 1},
    }


def test_body_mappings_know_their_lines(tmp_path: Path) -> None:
    [deployment], _ = read(write(tmp_path, "# leading comment\n---\n" + DEPLOYMENT))
    body = deployment.body
    assert isinstance(body, LineMap | FastMap) and body.line == 3
    pod_spec = body["spec"]["template"]["spec"]
    assert isinstance(pod_spec, LineMap | FastMap) and pod_spec.line == 10
    init, app = pod_spec["initContainers"][0], pod_spec["containers"][0]
    assert (init.line, init.image_line) == (11, 12)
    assert (app.line, app.image_line) == (14, 16)
    volume_image = pod_spec["volumes"][0]["image"]
    assert (volume_image.line, volume_image.image_line) == (20, 20)
    assert body["metadata"].line == 6


def test_json_bodies_are_plain_dicts(tmp_path: Path) -> None:
    [pod], _ = read(write(tmp_path, JSON_POD % "a", "pod.json"))
    assert pod.body == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}
    [cm], _ = read(
        write(tmp_path, '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}', "cm.json")
    )
    assert cm.body is None


def test_billion_laughs_is_bounded(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    laughs = "\n".join("  " + line for line in lines) + "\n"
    text = (
        "apiVersion: example.com/v1\nkind: Laughs\nmetadata: {name: built}\nspec:\n"
        + laughs
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: unbuilt}\ndata:\n"
        + laughs
        + "---\nlaughs:\n"
        + laughs
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n  extra:\n"
        + laughs
    )
    path = write(tmp_path, text)
    started = time.perf_counter()
    manifests, source = read(path)
    scan_paths([str(path)], ScanOptions())
    assert time.perf_counter() - started < 5
    assert [m.name for m in manifests] == ["built", "unbuilt", "p"]
    assert source.stats.documents == 4


# -- paths, stdin, limits -----------------------------------------------------------------


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\xef\xbb\xbf" + (POD_A + "---\n[1]\n").replace("\n", "\r\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    manifests, source = read("-")
    assert [(m.name, m.location) for m in manifests] == [("a", Location("-", 1, 1))]
    assert (source.stats.files, source.stats.documents, dict(source.stats.skipped)) == (
        1,
        2,
        {"not-a-mapping": 1},
    )


def test_directories_recurse_in_sorted_order(tmp_path: Path) -> None:
    def pod(name: str) -> str:
        return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n"

    write(tmp_path, pod("b1"), "b/1.yaml")
    write(tmp_path, pod("a2"), "a/2.yml")
    write(tmp_path, pod("a1"), "a/1.json")
    write(tmp_path, pod("a-sub"), "a/sub/x.yaml")
    write(tmp_path, pod("top"), "z.yaml")
    write(tmp_path, pod("txt"), "a/notes.txt")
    write(tmp_path, pod("upper"), "a/UPPER.YAML")
    write(tmp_path, pod("git"), ".git/config.yaml")
    write(tmp_path, pod("nested-git"), "a/.git/x.yaml")
    write(tmp_path, pod("node"), "node_modules/m.yaml")
    write(tmp_path, pod("hidden"), ".config/h.yaml")
    named = write(tmp_path, pod("named"), "named.txt")
    source = FileSource(needs_body)
    names = [m.name for m in source.read([str(tmp_path), str(named)])]
    assert names == ["hidden", "a1", "a2", "a-sub", "b1", "top", "named"]
    assert source.stats.files == 7


def test_missing_path_raises_input_error(tmp_path: Path) -> None:
    source = FileSource(needs_body)
    with pytest.raises(InputError, match="no such file"):
        list(source.read([str(tmp_path / "nope.yaml")]))


def test_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 40)
    big = write(tmp_path, POD_A + "# padding to pass the limit\n", "a.yaml")
    write(tmp_path, "apiVersion: v1\nkind: Pod\n", "b.yaml")
    manifests, source = read(tmp_path)
    assert identities(manifests) == [("Pod", "", 1, 1, None)]
    assert codes(source.problems) == [("too-large", 0, 0, None)]
    assert source.problems[0].location.path == str(big)
    assert source.stats.files == 2 and source.stats.documents == 1


def test_unreadable_file(tmp_path: Path) -> None:
    directory_named_yaml = tmp_path / "dir.yaml"
    directory_named_yaml.mkdir()
    broken_link = tmp_path / "link.yaml"
    broken_link.symlink_to(tmp_path / "nowhere")
    source = FileSource(needs_body)
    assert list(source.read([str(broken_link)])) == []
    assert [p.code for p in source.problems] == ["unreadable-file"]


@pytest.mark.parametrize("reader", ["fast", "reference"])
@pytest.mark.parametrize(
    ("name", "text", "field"),
    [
        (
            "yaml one-letter boolean",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\n",
            "namespace",
        ),
        ("yaml number", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 1e3\n", "name"),
        ("yaml mapping", "apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: {a: b}\n", "generateName"),
        (
            "yaml list item",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: Y}\n",
            "name",
        ),
        (
            "json",
            '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": false}}',
            "namespace",
        ),
    ],
)
def test_an_identity_that_is_not_a_string_is_refused_as_the_api_server_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str, name: str, text: str, field: str
) -> None:
    """kubectl reads YAML with go-yaml v2, where y/n/yes/no/on/off are booleans; a Go string field
    (ObjectMeta's name, namespace, generateName) cannot hold one, so the object is not applied.
    The reader says which field, and never analyses the object under a guessed namespace."""
    monkeypatch.setenv("PULLGUARD_READER", reader)
    path = write(tmp_path, text, "in.json" if text.startswith("{") else "in.yaml")
    manifests, source = read(path)
    assert manifests == []
    [problem] = source.problems
    assert problem.code == "wrong-type" and f"'metadata.{field}' must be a string" in problem.message


@pytest.mark.parametrize(
    ("metadata", "namespace", "name"),
    [
        # a merged mapping gives the object its namespace, as kubectl's reader (go-yaml) does
        ("{name: x, <<: {namespace: shop}}", "shop", "x"),
        # of a list of merged mappings the earlier wins; the mapping's own keys win over merged ones
        ("\n  <<: [{namespace: first}, {namespace: second, name: z}]\n  name: x", "first", "x"),
        ("\n  namespace: own\n  <<: {namespace: merged, name: z}", "own", "z"),
    ],
)
def test_merge_keys_give_the_identity_and_the_body_the_same_values(
    tmp_path: Path, metadata: str, namespace: str, name: str
) -> None:
    """https://yaml.org/type/merge.html: a mapping's own keys override merged ones, and earlier
    mappings of a merged list override later ones; the identity and the body read them alike."""
    path = write(tmp_path, f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {metadata}\n")
    manifests, _ = read(path)
    assert [(m.namespace, m.name) for m in manifests] == [(namespace, name)]
    body = manifests[0].body
    assert body is not None
    assert (body["metadata"].get("namespace"), body["metadata"].get("name")) == (namespace, name)
