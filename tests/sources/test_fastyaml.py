"""The fast reader gives what the reference reader gives: the same objects, the same values
for every field pullguard reads, the same lines — or it leaves the document to the reference.

Differential tests: the whole report, both ways, over the shared real-world corpus (skipped
when absent), over generated corpora, and over generated YAML (hypothesis).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pullguard.inventory.kinds import needs_body
from pullguard.report import json_report
from pullguard.scan import ScanOptions, scan_paths
from pullguard.sources import fastyaml
from pullguard.sources.model import Manifest, ReadStats
from pullguard.sources.yamldocs import DocumentReader, LineMap, image_line_of, line_of

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared/corpus/realworld"
NOW = datetime(2026, 6, 1, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not fastyaml.AVAILABLE, reason="yaml-rs has no wheel for this platform")


def report(path: Path, reader: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], int]:
    monkeypatch.setenv("PULLGUARD_READER", reader)
    monkeypatch.setenv("PULLGUARD_FINGERPRINT_KEY", "differential-test-key")
    result = scan_paths([str(path)], ScanOptions(now=NOW))
    out = io.StringIO()
    json_report.write(result, out)
    return json.loads(out.getvalue()), result.inventory.stats.fast_documents


def same_report(path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    reference, none = report(path, "reference", monkeypatch)
    fast, taken = report(path, "fast", monkeypatch)
    assert none == 0
    assert fast == reference
    return taken


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/realworld is absent")
def test_the_real_world_corpus_gives_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = {
        folder.name: same_report(folder, monkeypatch)
        for folder in sorted(CORPUS.iterdir())
        if folder.is_dir()
    }
    assert sum(taken.values()) > 1000, taken  # the fast reader does carry the corpus


def test_generated_corpus_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/generate.py"),
            "-n",
            "600",
            "--seed",
            "7",
            str(tmp_path / "c"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    taken = same_report(tmp_path / "c", monkeypatch)
    assert taken > 400


def test_examples_give_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    assert same_report(ROOT / "examples", monkeypatch) > 20


# -- document by document ----------------------------------------------------------------


def read(text: str, fast: bool) -> tuple[list[Manifest], ReadStats]:
    stats = ReadStats()
    reader = DocumentReader(needs_body, stats, [], fast=fast)
    return list(reader.read_text("in.yaml", text)), stats


def plain(value: Any) -> Any:
    if isinstance(value, LineMap | fastyaml.FastMap):
        return {key: plain(value[key]) for key in value}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def lines(body: Any) -> list[Any]:
    """Every line a report can print from a body: the pod spec's and each image holder's."""
    found: list[Any] = []
    spec = body.get("spec") if body is not None else None
    template = spec.get("template") if isinstance(spec, LineMap | fastyaml.FastMap) else None
    pod = template.get("spec") if isinstance(template, LineMap | fastyaml.FastMap) else spec
    if isinstance(pod, LineMap | fastyaml.FastMap):
        found.append(line_of(pod, -1))
        for field in ("initContainers", "containers"):
            for holder in pod.get(field) or []:
                if isinstance(holder, LineMap | fastyaml.FastMap):
                    found.append((line_of(holder, -1), image_line_of(holder, -1)))
    return found


def assert_same(text: str) -> ReadStats:
    reference, _ = read(text, fast=False)
    fast, stats = read(text, fast=True)
    assert [(m.api_version, m.kind, m.name, m.namespace, m.location) for m in fast] == [
        (m.api_version, m.kind, m.name, m.namespace, m.location) for m in reference
    ]
    for a, b in zip(fast, reference, strict=True):
        assert plain(a.body) == plain(b.body)
        assert lines(a.body) == lines(b.body)
    return stats


DEPLOYMENT = """\
# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # trailing comment
  namespace: shop
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: {automount}
      imagePullSecrets:
      - name: regcred
      initContainers:
        - name: init
          image: "registry.example.com/init:1"
      containers:
      - name: app
        image: registry.example.com/web:1.0
        args: ["--port", "8080"]
      - image: 'registry.example.com/side:2'
        name: side
"""


def test_a_plain_deployment_takes_the_fast_reader() -> None:
    stats = assert_same(DEPLOYMENT.replace("{automount}", "false"))
    assert stats.fast_documents == 1


@pytest.mark.parametrize(
    "text",
    [
        "\n\n# a comment\n   # an indented comment\n\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
        # the first key written again, deeper and quoted: the object still starts on its first line
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  ownerReferences:\n  - apiVersion: apps/v1\n"
        "    kind: ReplicaSet\n    name: r\n    uid: u\n  annotations: {note: '\"apiVersion\": x'}\n",
        "apiVersion:\n  v1\nkind: Pod\nmetadata: {name: a}\n",
        "kind: Pod\napiVersion: v1\nmetadata: {name: a}\n",
        "  apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n",  # indented: the search looks closer
        '"apiVersion": v1\nkind: Pod\nmetadata: {name: a}\n',
        "# apiVersion: v0\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
    ],
    ids=["comments", "written-again", "value-below", "kind-first", "indented", "quoted", "commented-out"],
)
def test_an_object_starts_on_the_line_the_reference_reader_says(text: str) -> None:
    stats = assert_same("---\n" + text + "---\n" + text)
    assert stats.fast_documents == 2


@pytest.mark.parametrize("written", ["yes", "on", "Off", "NO", "y", "N"])
def test_yaml_1_1_booleans_are_read_as_kubectl_reads_them(written: str) -> None:
    """go-yaml v2 (kubectl's reader: sigs.k8s.io/yaml/goyaml.v2, resolve.go) reads the one-letter
    forms too, which PyYAML's resolver leaves as strings."""
    text = DEPLOYMENT.replace("{automount}", written)
    assert_same(text)
    manifest = read(text, fast=True)[0][0]
    assert isinstance(manifest.body["spec"]["template"]["spec"]["automountServiceAccountToken"], bool)


# Plain scalars as go-yaml v2 reads them (kubectl: sigs.k8s.io/yaml/goyaml.v2, resolve.go), where
# PyYAML's YAML 1.1 resolver alone reads them otherwise, and a few where both agree.
GO_YAML_V2 = [
    ("y", True),
    ("N", False),
    ("1e3", 1000.0),
    ("1.5e3", 1500.0),
    ("08", 8.0),
    ("0o17", 15),
    ("0X1F", 31),
    ("-0B11", -3),
    ("1:30", "1:30"),
    ("=", "="),
    ("0755", 493),
    ("1_000", 1000),
    ("yes", True),
    (".5", 0.5),
    ("0x1f", 31),
    ("abc", "abc"),
]


@pytest.mark.parametrize(("written", "value"), GO_YAML_V2, ids=[w for w, _ in GO_YAML_V2])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_plain_scalars_are_read_as_kubectl_reads_them(written: str, value: Any, fast: bool) -> None:
    text = (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  field: {written}\n  other: [{written}]\n"
    )
    [manifest], _ = read(text, fast=fast)
    assert manifest.body is not None
    for read_value in (manifest.body["spec"]["field"], manifest.body["spec"]["other"][0]):
        assert read_value == value and type(read_value) is type(value)


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: &m {name: a, namespace: b}\nx: *m\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: !!binary aGk=\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: {name: merged}\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nmetadata: {name: b}\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: tab\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Values.name }}}\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    {{ .x }}: y\n",
        # properties where a flow collection, an explicit key or a continuation line opens a node
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: [a, !!str 1]}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {? !!str k : v}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k:\n    !!str 1\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: ! 12\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: [x, &b y, *b]\n",
    ],
    ids=[
        "anchors",
        "tags",
        "merge-keys",
        "list",
        "duplicate-keys",
        "tabs",
        "template-key",
        "template-block-key",
        "tag-in-flow-sequence",
        "tag-on-explicit-key",
        "tag-on-its-own-line",
        "non-specific-tag",
        "anchor-in-flow-sequence",
    ],
)
def test_risky_documents_are_left_to_the_reference_reader(text: str) -> None:
    _, stats = read(text, fast=True)
    assert stats.fast_documents == 0


@pytest.mark.parametrize(
    "text",
    [
        # a cron schedule, quoted or not: `*` that is no alias (there is no anchor to refer to)
        'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: "0 3 * * *"\n'
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n"
        "          - name: a\n            image: reg.example/a:1\n            args: [-c, 'x && y', *b]\n",
        # a plain `*` and `**`: no alias (there is no anchor to refer to)
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
        "    image: reg.example/a:1\n    command: [sh, -c, run **]\n    args:\n    - a *b\n    - run *\n",
        # a quoted template and one inside a plain scalar: strings to both readers
        "apiVersion: v1\nkind: Pod\nmetadata: {name: '{{ .Values.name }}'}\nspec:\n  containers:\n"
        '  - name: a\n    image: reg.example/{{ .Values.repo }}:1\n    args: ["${X}"]\n',
    ],
    ids=["cron-star", "plain-stars", "quoted-templates"],
)
def test_stars_and_quoted_templates_take_the_fast_reader(text: str) -> None:
    stats = assert_same(text)
    assert stats.fast_documents == (0 if "*b]" in text else 1)


@pytest.mark.parametrize(
    "text",
    [
        # CEL rules and shell scripts: `!` and `&` inside text open no node
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        "    rule: self.a != 'b' && !has(self.c) || (!x)\nspec:\n  containers:\n"
        '  - name: a\n    image: reg.example/a:1\n    args:\n    - if [ "$R" != master ]; then x && y; fi\n'
        "    - echo $NAME &> /dev/null\n",
        # in a block scalar, even at a line's start (the fast reader leaves it: text to both)
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - name: a\n    image: reg.example/a:1\n    command:\n    - |\n      a\n      != 1\n",
    ],
    ids=["cel-and-shell", "block-scalar"],
)
def test_marks_inside_text_read_the_same(text: str) -> None:
    stats = assert_same(text)
    assert stats.fast_documents == (0 if "\n      != 1" in text else 1)


def test_an_alias_with_no_anchor_is_refused_as_by_the_reference_reader() -> None:
    """Without an anchor a `*name` can only be an undefined alias: both readers refuse it, and
    the reference reader reports it (the `*b` of the cron test above)."""
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: *undefined\n"
    problems: list[Any] = []
    reader = DocumentReader(needs_body, ReadStats(), problems, fast=True)
    assert list(reader.read_text("in.yaml", text)) == []
    assert [p.code for p in problems] == ["yaml-syntax"]


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - &main {name: a, image: reg.example/a:1}\n  initContainers: [*main]\n",
        # no alias, but the reference reader places the mapping at its anchor's line
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - &main\n    name: a\n    image: reg.example/a:1\n",
    ],
    ids=["alias", "anchor-on-its-own-line"],
)
def test_anchors_are_left_to_the_reference_reader(text: str) -> None:
    stats = assert_same(text)
    assert stats.fast_documents == 0


def test_a_line_the_text_does_not_show_plainly_comes_from_the_reference() -> None:
    """The same image twice, and an image on the line after its key: the quick search and
    the locator cannot be sure, the reference reader answers."""
    text = DEPLOYMENT.replace("{automount}", "true").replace(
        "image: 'registry.example.com/side:2'", "image:\n          registry.example.com/web:1.0"
    )
    assert_same(text)


# -- generated YAML ------------------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=12).filter(
    lambda w: w[0].isalpha()
)
_scalar = st.one_of(
    _word,
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "off",
            "true",
            "false",
            "null",
            "~",
            "0755",
            "1_000",
            "1:30",
            "1e3",
            "2025-01-10T08:00:00Z",
            "12",
            "3.5",
            ".inf",
            "",
            "0 3 * * *",
            "a && b",
            "{{ .Values.x }}",
            "x-{{ .y }}",
            "${X}",
            "&a b",
            "*a",
            "y",
            "N",
            "1e3",
            "08",
            "0o17",
            "0X1F",
            "=",
            "a != b",
            "!has(x) && y",
            "x, !y",
            "!!str 5",
            "! 5",
            "- &z q",
            "? !t k",
        ]
    ),
)


def _quote(value: str, style: int) -> str:
    if style == 1:
        return json.dumps(value)
    if style == 2:
        return "'" + value.replace("'", "''") + "'"
    return value


@st.composite
def workload(draw: st.DrawFn) -> str:
    containers = draw(
        st.lists(st.tuples(_word, _word, st.integers(0, 2), st.booleans()), min_size=1, max_size=3)
    )
    parts = [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        f"  name: {draw(_word)}",
        f"  annotations: {{note: {_quote(draw(_scalar), draw(st.integers(0, 2)))}}}",
        "spec:",
        f"  minReadySeconds: {_quote(draw(_scalar), draw(st.integers(0, 2)))}",
        "  template:",
        "    spec:",
        f"      automountServiceAccountToken: {draw(st.sampled_from(['true', 'false', 'yes', 'off']))}",
        "      containers:",
    ]
    for name, image, style, compact in containers:
        dash = "      - " if compact else "        - "
        pad = " " * (len(dash))
        parts.append(f"{dash}name: {name}")
        if draw(st.booleans()):
            parts.append(f"{pad}# a comment line")
        parts.append(f"{pad}image: {_quote('reg.example/' + image + ':1', style)}")
        parts.append(f"{pad}env: [{{name: X, value: {_quote(draw(_scalar), draw(st.integers(0, 2)))}}}]")
        parts.append(f"{pad}stdin: {_quote(draw(_scalar), draw(st.integers(0, 2)))}")
    return "\n".join(parts) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(workload(), min_size=1, max_size=3))
def test_generated_workloads_read_the_same(documents: list[str]) -> None:
    assert_same("---\n".join(documents))


def test_keys_yaml_1_2_reads_as_numbers_are_left_to_the_reference() -> None:
    """`0E0:` is a string key for YAML 1.1 readers and a float for YAML 1.2 ones (found by the
    JSON/YAML property test): such documents take the reference reader."""
    text = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  labels:\n    0E0: x\n    1: y\n"
    stats = assert_same(text)
    assert stats.fast_documents == 0
    manifest = read(text, fast=True)[0][0]
    assert set(manifest.body["metadata"]["labels"]) == {"0E0", "1"}


def test_values_the_reference_reader_answers_compose_the_document_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Numbers (and YAML 1.1-ambiguous strings) come from the reference reader; a walk over a
    document full of them composes it once, not once per value."""
    from pullguard.sources import yamldocs

    composed: list[str] = []

    class Counting(yamldocs._Loader):
        def __init__(self, stream: str) -> None:
            composed.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yamldocs, "_Loader", Counting)
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, generation: 3}\nspec:\n  containers:\n"
        "  - name: a\n    image: reg.example/a:1\n    ports:\n"
        + "".join(f"    - containerPort: {8000 + i}\n" for i in range(50))
    )
    manifest = read(text, fast=True)[0][0]
    assert manifest.body is not None
    values = plain(manifest.body)
    assert values["spec"]["containers"][0]["ports"] == [{"containerPort": 8000 + i} for i in range(50)]
    assert values["metadata"]["generation"] == 3
    assert len(composed) == 1


@pytest.mark.parametrize(
    "written",
    [
        "0755",
        "'0755'",
        "1_000",
        "1:30",
        '"1:30"',
        "2024-06-15T12:40:30Z",
        "'2024-06-15T12:40:30Z'",
        "2024-02-30",
        "1e3",
        "12",
        "3.5",
        ".inf",
        "0x1F",
        "yes",
        '"on"',
        "~",
        "12 # a comment",
        "0755 # a comment",
    ],
)
def test_yaml_1_1_scalars_are_built_from_their_text_as_the_reference_reader_builds_them(
    written: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scalar YAML 1.1 may read otherwise, written once on its key's line, is built from that
    text by the reference reader's resolver and constructors, without composing the document."""
    from pullguard.sources import yamldocs

    composed: list[str] = []
    original = yamldocs._compose
    monkeypatch.setattr(yamldocs, "_compose", lambda chunk: composed.append(chunk) or original(chunk))
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
        f"  creationTimestamp: {written}\nspec:\n  activeDeadlineSeconds: {written}\n  containers:\n"
        f"  - name: a\n    image: reg.example/a:1\n    stdin: {written}\n"
    )
    assert_same(text)
    assert composed == []


def test_a_key_written_twice_takes_the_reference_reader_for_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pullguard.sources import yamldocs

    composed: list[str] = []
    original = yamldocs._compose
    monkeypatch.setattr(yamldocs, "_compose", lambda chunk: composed.append(chunk) or original(chunk))
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        "  - name: a\n    image: reg.example/a:1\n    stdin: '0755'\n"
        "  - name: b\n    image: reg.example/b:1\n    stdin: 0755\n"
    )
    stats = assert_same(text)
    assert stats.fast_documents == 1 and composed


def test_json_documents_are_counted_apart_from_the_yaml_readers() -> None:
    """`make bench` counts fallbacks among YAML documents: JSON is read by Python's json module."""
    text = '{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}\n'
    _, stats = read(text, fast=True)
    assert (stats.documents, stats.json_documents, stats.fast_documents) == (1, 1, 0)
    _, stats = read("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n", fast=True)
    assert (stats.documents, stats.json_documents, stats.fast_documents) == (1, 0, 1)
