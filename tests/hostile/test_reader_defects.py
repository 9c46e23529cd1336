"""Manifest readers on hostile documents, through the real CLI in a subprocess (a crash of the
native YAML parser fails the test instead of killing pytest).

One bad document never hides the rest: every problem names file, document and line (and
the field where there is one), never quotes a value, and the run ends normally.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile.support import PRIVATE, no_internal_error, pullguard
from pullguard.sources import fastyaml

VALID = """\
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: shop}
spec:
  containers:
  - name: c
    image: reg.corp.example/fine:1
"""
CANARY = "CANARY-5e1d0"


def _scan(
    *paths: Path, stdin: bytes | None = None, extra: tuple[str, ...] = ()
) -> tuple[int, dict[str, Any]]:
    args = [str(p) for p in paths] or ["-"]
    done = pullguard("scan", *args, "--format", "json", *PRIVATE, *extra, stdin=stdin, timeout=240)
    assert done.returncode >= 0, f"killed by signal {signal.Signals(-done.returncode).name}"
    no_internal_error(done)
    return done.returncode, json.loads(done.stdout)


def _problems(report: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    return [
        (p["code"], Path(p["location"]["file"]).name, p["location"]["document"], p["location"]["line"])
        for p in report["inputProblems"]
    ]


def _analysed(report: dict[str, Any]) -> set[str]:
    return {f["object"]["name"] for f in report["findings"]}


# -- 1. nesting deep enough to overflow yaml-rs's stack ------------------------------------------

DEPTH = 20_000  # yaml-rs overflows its 8 MiB stack at about 11,400 block levels


def _indicator_lines(depth: int, per_line: int) -> str:
    """`- ` indicators, `per_line` to a line, each line indented to the column the last one reached."""
    lines = [" " * (2 * per_line * row) + "- " * per_line for row in range(depth // per_line)]
    return "\n".join(lines) + "x\n"


DEEP_SHAPES = {
    "dashes on one line": "- " * DEPTH + "x\n",
    "dashes, wider spacing": "-   " * DEPTH + "x\n",
    "explicit keys and dashes": "? - " * (DEPTH // 2) + "x\n",
    "dashes over lines": _indicator_lines(DEPTH, 1000),
    "flow sequences on one line": "a: " + "[" * DEPTH + "]" * DEPTH + "\n",
    "flow mappings on one line": "a: " + "{a: " * DEPTH + "x" + "}" * DEPTH + "\n",
    "flow sequences over lines": "a:\n" + " [\n" * DEPTH + " ]\n" * DEPTH,
    "flow mappings over lines": "a:\n" + " {a:\n" * DEPTH + " x\n" + " }\n" * DEPTH,
    "unclosed flow": "a: " + "[" * DEPTH + "\n",
}


@pytest.mark.parametrize("shape", sorted(DEEP_SHAPES))
def test_a_deep_document_is_one_problem_and_the_others_are_read(tmp_path: Path, shape: str) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(DEEP_SHAPES[shape] + "---\n" + VALID)
    other = tmp_path / "other.yaml"
    other.write_text(VALID.replace("fine", "other"))
    code, report = _scan(deep, other)
    assert _analysed(report) == {"fine", "other"}  # the document after it, and the next file
    assert [(c, f, d) for c, f, d, _ in _problems(report)] == [("yaml-syntax", "deep.yaml", 1)]
    assert (
        "nesting depth" in report["inputProblems"][0]["message"]
        or "too deep" in report["inputProblems"][0]["message"]
    )
    assert code == 2


def test_a_deep_document_from_stdin_and_in_a_directory(tmp_path: Path) -> None:
    text = DEEP_SHAPES["dashes on one line"] + "---\n" + VALID
    code, report = _scan(stdin=text.encode())
    assert _analysed(report) == {"fine"} and code == 2
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(VALID.replace("fine", "other"))
    code, report = _scan(tmp_path)
    assert _analysed(report) == {"fine", "other"} and code == 2


def test_the_reference_reader_reports_each_deep_shape(tmp_path: Path) -> None:
    """The guard sends deep documents to the reference reader: it must report them cleanly."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("".join(DEEP_SHAPES[shape] + "---\n" for shape in sorted(DEEP_SHAPES)) + VALID)
    for reader in ("reference", "fast"):
        done = pullguard("scan", str(deep), "--format", "json", *PRIVATE, timeout=240, reader=reader)
        assert done.returncode == 2, reader
        report = json.loads(done.stdout)
        assert [d for _, _, d, _ in _problems(report)] == list(range(1, len(DEEP_SHAPES) + 1)), reader
        assert _analysed(report) == {"fine"}


@pytest.mark.parametrize(
    "text",
    [
        "a:\n" + "".join(" " * (level + 1) + "a:\n" for level in range(130)) + " " * 132 + "a: x\n",
        "- " * 64 + "x\n",
        "-  " * 43 + "x\n",
        "a:\n" + " " * 128 + "b\n",
        "a: b\n" + "? " * 64 + "x\n",
    ],
    ids=["indented mappings", "dashes", "wide dashes", "deep indentation", "explicit keys"],
)
def test_the_fast_reader_leaves_any_deep_line_start_to_the_reference_reader(text: str) -> None:
    """128 or more spaces and indicators opening a line: the fast reader does not parse it."""
    assert fastyaml.parse("apiVersion: v1\nkind: ConfigMap\n" + text) is None
    assert fastyaml.parse(text) is None


def test_the_fast_reader_keeps_ordinary_documents() -> None:
    assert fastyaml.parse("a:\n" + " " * 127 + "b\n- c\n") is None  # not a mapping: None, but parsed
    assert fastyaml.parse("a:\n  b: [" + "[" * 20 + "]" * 20 + "]\n" + "c: " + "- " * 3 + "\n") is None
    assert fastyaml.parse(VALID) is not None
    deep_ok = "a:\n" + "".join(" " * (level + 1) + "a:\n" for level in range(100)) + " " * 101 + "b\n"
    assert fastyaml.parse(deep_ok) is not None  # 100 levels: still the fast path


def test_yaml_rs_refuses_deep_flow_by_itself() -> None:
    """The guard relies on yaml-rs refusing flow collections deeper than 255 levels (an error,
    not a crash); a version without that limit must fail here, not segfault in production."""
    import yaml_rs

    for text in ("a: " + "[" * 300 + "]" * 300, "a: " + "{a: " * 300 + "x" + "}" * 300, "a:\n" + "[\n" * 300):
        with pytest.raises(yaml_rs.YAMLDecodeError):
            yaml_rs.loads(text)


_TOKENS = st.sampled_from(["- ", "-  ", "? ", "[", "{a: ", "- [", "\n", "  "])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    unit=st.lists(_TOKENS, min_size=1, max_size=6),
    repeat=st.integers(min_value=12_000, max_value=30_000),
    indent_lines=st.booleans(),
)
def test_deep_documents_of_any_shape_never_crash(
    tmp_path_factory: pytest.TempPathFactory, unit: list[str], repeat: int, indent_lines: bool
) -> None:
    if indent_lines:  # nested block sequences, one level a line, indented one more each time
        levels = min(repeat, 3_000)
        body = (
            "".join(" " * level + "-\n" for level in range(levels)) + " " * levels + "".join(unit) * 5 + "x\n"
        )
    else:
        body = "".join(unit) * repeat + "x\n"
    path = tmp_path_factory.mktemp("deep") / "deep.yaml"
    path.write_text(body + "\n---\n" + VALID)
    done = pullguard("scan", str(path), "--format", "json", *PRIVATE, timeout=240)
    assert done.returncode in (0, 1, 2), f"exit {done.returncode}"
    no_internal_error(done)
    assert "fine" in _analysed(json.loads(done.stdout))


# -- 2. a JSON integer longer than Python converts -----------------------------------------------


def _pod_json(name: str, generation: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "generation": 0},
            "spec": {"containers": [{"name": "c", "image": "reg.corp.example/app:1"}]},
        }
    ).replace('"generation": 0', f'"generation": {generation}')


def test_a_json_integer_of_5000_digits_is_one_documents_problem(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(_pod_json("huge", "9" * 5000) + "\n" + _pod_json("after", "3") + "\n")
    other = tmp_path / "other.yaml"
    other.write_text(VALID)
    code, report = _scan(big, other)
    assert _analysed(report) == {"fine", "after"}  # the next value of the stream, and the next file
    assert _problems(report) == [("json-value", "big.json", 1, 1)]
    message = report["inputProblems"][0]["message"]
    assert "'generation'" in message and "4,300 digits" in message and "9999" not in message
    assert code == 2


# -- 3. merge keys onto what is no mapping --------------------------------------------------------

MERGES = {
    "flow metadata": ("apiVersion: v1\nkind: Pod\nmetadata: {name: a, <<: 5}\n", 3, "Pod a: "),
    "block metadata": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  <<: 5\n", 5, "Pod a: "),
    "alias to a scalar": ("x: &x 5\napiVersion: v1\nkind: Pod\nmetadata: {name: a, <<: *x}\n", 4, "Pod a: "),
    "configmap data": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {<<: 5}\n",
        4,
        "ConfigMap a: ",
    ),
    "top level": ("<<: 5\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", 1, "ConfigMap a: "),
    "a list of scalars": (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {<<: [1, 2]}\n",
        4,
        "Secret a: ",
    ),
}


@pytest.mark.parametrize("case", sorted(MERGES))
def test_a_merge_key_onto_a_scalar_is_one_documents_problem(tmp_path: Path, case: str) -> None:
    text, line, owner = MERGES[case]
    bad = tmp_path / "m.yaml"
    bad.write_text(VALID.replace("fine", "before") + "---\n" + text + "---\n" + VALID)
    other = tmp_path / "valid.yaml"
    other.write_text(VALID.replace("fine", "other"))
    code, report = _scan(bad, other)
    assert _analysed(report) == {"before", "fine", "other"}
    assert _problems(report) == [("yaml-value", "m.yaml", 2, line + 8)]
    message = report["inputProblems"][0]["message"]
    assert message.startswith(owner) and "'<<'" in message and "5" not in message.replace(owner, "")
    assert code == 2


def test_a_good_merge_key_still_merges(tmp_path: Path) -> None:
    good = tmp_path / "g.yaml"
    good.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: merged, <<: {namespace: shop}}\n"
        "spec:\n  containers: [{name: c, image: reg.corp.example/app:1}]\n"
    )
    _, report = _scan(good)
    assert _analysed(report) == {"merged"} and report["inputProblems"] == []


# -- 4. tag and alias text is never quoted ---------------------------------------------------------

PAYLOAD = "eyJhdXRocyI6IHsicmVnLmNvcnAuZXhhbXBsZSI6IHsicGFzc3dvcmQiOiAiQ0FOQVJZLTVlMWQwIn19fQ"
TAGGED = {
    "tag.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: pull, namespace: shop}}\n"
    f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: !{PAYLOAD}\n",
    "binary.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: pull2, namespace: shop}}\n"
    f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: !!binary{PAYLOAD}\n",
    "env.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
    f"  - name: c\n    image: reg.corp.example/app:1\n    env:\n    - {{name: PASSWORD, value: !{CANARY}}}\n",
    "handle.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: shop}}\n"
    f"stringData:\n  password: !{CANARY}!x y\n",
    "alias.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: a, namespace: shop}}\n"
    f"stringData:\n  password: *{CANARY}\n",
    "list.yaml": "apiVersion: v1\nkind: SecretList\nitems:\n"
    + "".join(f"- {{metadata: {{name: s{n}}}, stringData: {{p: {'x' * 200}}}}}\n" for n in range(6000))
    + f"- {{metadata: {{name: last}}, stringData: {{password: *{CANARY}}}}}\n",
    "name.yaml": f"apiVersion: v1\nkind: Secret\nmetadata: {{name: !{CANARY} x, namespace: shop}}\n",
}
FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tagged")
    for name, text in TAGGED.items():
        (directory / name).write_text(text)
    (directory / "valid.yaml").write_text(VALID)
    return directory


def _assert_clean(text: str) -> None:
    for needle in (CANARY, "CANARY", PAYLOAD[:24], PAYLOAD[-24:], "Q0FOQVJZ"):
        assert needle not in text


@pytest.mark.parametrize("output_format", FORMATS)
def test_no_tag_or_alias_text_in_any_report(tagged: Path, output_format: str) -> None:
    done = pullguard("scan", str(tagged), "--format", output_format, *PRIVATE, timeout=240)
    no_internal_error(done)
    assert done.returncode == 2
    _assert_clean((done.stdout + done.stderr).decode())


def test_no_tag_text_from_fix(tagged: Path) -> None:
    done = pullguard("fix", str(tagged), timeout=240)
    no_internal_error(done)
    _assert_clean((done.stdout + done.stderr).decode())


def test_each_tagged_value_is_reported_with_its_line(tagged: Path) -> None:
    code, report = _scan(tagged)
    found = {(f, line) for _, f, _, line in _problems(report)}
    assert {
        ("tag.yaml", 6),
        ("binary.yaml", 6),
        ("env.yaml", 9),
        ("handle.yaml", 5),
        ("alias.yaml", 5),
    } <= found
    assert "fine" in _analysed(report) and code == 2
    messages = {Path(p["location"]["file"]).name: p["message"] for p in report["inputProblems"]}
    assert "YAML tag" in messages["tag.yaml"] and "'.dockerconfigjson'" in messages["tag.yaml"]


# -- 5. what a non-string name is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "text", "said", "quote"),
    [
        ("list.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [a, b]}\n", "a list", False),
        ("map.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: {a: b}}\n", "a mapping", False),
        (
            "tag.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: !!python/name:os.system x}\n",
            "YAML tag",
            False,
        ),
        ("bool.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: yes}\n", "a boolean", True),
        ("number.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: 0755}\n", "a number", True),
        ("nan.json", '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": NaN}}', "NaN", False),
        ("list.json", '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": ["a"]}}', "a list", False),
        ("number.json", '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 12}}', "a number", False),
    ],
)
def test_a_name_that_is_no_string_is_said_for_what_it_is(
    tmp_path: Path, file: str, text: str, said: str, quote: bool
) -> None:
    (tmp_path / file).write_text(text)
    (tmp_path / "valid.yaml").write_text(VALID)
    code, report = _scan(tmp_path)
    assert [(c, f, d) for c, f, d, _ in _problems(report)] == [("wrong-type", file, 1)]
    message = report["inputProblems"][0]["message"]
    assert "'metadata.name' must be a string" in message and said in message
    assert ("quote it" in message) is quote
    assert "YAML" not in message or not file.endswith(".json")
    assert "os.system" not in message and "fine" in _analysed(report) and code == 2


# -- 6. NUL and other control characters -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("apiVersion: v1\nkind: Pod\x00\nmetadata: {name: p}\n", 2),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\x001\n", 4),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: nginx:1\x00}\n",
            6,
        ),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n# a comment \x1b[31m\n", 4),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a\x7fb}\n", 3),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a\u0085b}\n", None),
    ],
    ids=["after kind", "in name", "in image", "escape in comment", "DEL", "NEL"],
)
@pytest.mark.parametrize("reader", ["fast", "reference"])
def test_a_control_character_is_reported_at_its_line_by_both_readers(
    tmp_path: Path, text: str, line: int | None, reader: str
) -> None:
    spec = "spec:\n  containers:\n  - {name: b, image: reg.corp.example/private:1}\n"
    (tmp_path / "a.yaml").write_text(text + (spec if "spec" not in text else "") + "---\n" + VALID)
    done = pullguard("scan", str(tmp_path), "--format", "json", *PRIVATE, timeout=120, reader=reader)
    assert done.returncode >= 0
    no_internal_error(done)
    report = json.loads(done.stdout)
    if line is None:  # NEL is a line break in YAML 1.1: libyaml reads it, no problem
        assert report["inputProblems"] == []
        return
    assert _problems(report) == [("yaml-syntax", "a.yaml", 1, line)]
    assert "missing" not in report["inputProblems"][0]["message"]
    assert _analysed(report) == {"fine"}  # the NUL's object is not half-read
