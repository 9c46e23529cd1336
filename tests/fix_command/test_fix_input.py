"""`pullguard fix` on hostile input: files in other encodings and line endings, input it cannot read,
and an unexpected error: reported as scan reports them, never a traceback, the other files still fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixer.helpers import b64, findings, run
from pullguard.errors import InputError
from pullguard.fixer.rtyaml import YamlFile
from pullguard.fixer.textfile import decode

CANARY = "canary-fix-input-3e1d-never-print"
PAYLOAD = b64(json.dumps({"auths": {"reg.corp.example": {"username": "u", "password": CANARY}}}))

# an Opaque pull secret (PG003: its type is fixed), a pod without imagePullSecrets that it covers (PG001:
# a list is added), and a document no fix touches
DOCUMENTS = [
    "# the app's pull secret\napiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\n  namespace: default\n"
    f"type: Opaque\ndata:\n  .dockerconfigjson: {PAYLOAD}\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\n  namespace: default\nspec:\n  containers:\n"
    "  - name: c   # the app\n    image: reg.corp.example/app:1\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: untouched   # é, ü: not ASCII\ndata:\n  a: 'b'\n",
]

ENCODINGS = {
    "utf-16-le": b"\xff\xfe",
    "utf-16-be": b"\xfe\xff",
    "utf-32-le": b"\xff\xfe\x00\x00",
    "utf-32-be": b"\x00\x00\xfe\xff",
    "utf-8": b"\xef\xbb\xbf",
}


def _encoded(text: str, codec: str, bom: bytes) -> bytes:
    return bom + text.encode(codec)


def _diff(cwd: Path, *args: str) -> bytes:
    """fix's standard output as bytes (`run` reads text, which turns CRLF into LF)."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "pullguard", "fix", *args], cwd=cwd, capture_output=True, timeout=120, env=env
    )
    assert done.returncode == 1, done.stderr
    return done.stdout


@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["crlf", "lf"])
@pytest.mark.parametrize("codec", list(ENCODINGS))
def test_a_file_in_another_encoding_is_fixed_in_its_own_encoding_and_line_endings(
    tmp_path: Path, codec: str, newline: str
) -> None:
    """A UTF-16LE file with a byte-order mark and CRLFs made fix end in a UnicodeDecodeError traceback."""
    bom = ENCODINGS[codec]
    documents = [d.replace("\n", newline) for d in DOCUMENTS]
    separator = f"---{newline}"
    original = _encoded(separator.join(documents), codec, bom)
    target = tmp_path / "app.yaml"
    target.write_bytes(original)

    shown = run(tmp_path, "fix", ".", "--no-config", "--assume-private")
    assert shown.returncode == 1, shown.stderr
    assert "Traceback" not in shown.stderr
    diff = _diff(tmp_path, ".", "--no-config", "--assume-private").decode()
    assert f"-type: Opaque{newline}" in diff
    assert f"+type: kubernetes.io/dockerconfigjson{newline}" in diff
    assert "2 fixable in 1 file; 0 left to do by hand" in shown.stderr
    if codec == "utf-8":  # the diff is a patch of the file (its byte-order mark and CRLFs included)
        assert "shows its text as UTF-8" not in shown.stderr
    else:
        assert (
            f"the diff of app.yaml ({codec.upper().replace('-LE', 'LE').replace('-BE', 'BE')}" in shown.stderr
        )
        assert "shows its text as UTF-8: it is no patch to apply; use --write" in shown.stderr
    assert target.read_bytes() == original

    written = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert written.returncode == 0, written.stderr
    data = target.read_bytes()
    assert data.startswith(bom)
    parts = data[len(bom) :].split(separator.encode(codec))
    assert len(parts) == 3
    # the untouched document byte for byte; the edited ones in the file's encoding and line endings
    assert parts[2] == documents[2].encode(codec)
    for part in parts[:2]:
        text = part.decode(codec)
        assert text.count(newline) == text.count("\n") > 5
    assert "type: kubernetes.io/dockerconfigjson" in parts[0].decode(codec)
    assert parts[0].decode(codec).startswith("# the app's pull secret")
    assert f"  imagePullSecrets:{newline}  - name: pull{newline}" in parts[1].decode(codec)
    assert f"  - name: c   # the app{newline}" in parts[1].decode(codec)
    assert not {("PG003", "pull"), ("PG001", "p1")} & findings(tmp_path, "--assume-private")
    assert CANARY not in shown.stdout + shown.stderr + written.stdout + written.stderr


def test_the_diff_of_a_crlf_file_applies_as_a_patch(tmp_path: Path) -> None:
    """Its lines keep their CRLFs, as `git diff` shows them: `git apply` takes it."""
    pod = DOCUMENTS[1].replace("\n", "\r\n")
    target = tmp_path / "pod.yaml"
    target.write_bytes(pod.encode())
    secret = DOCUMENTS[0].replace("type: Opaque", "type: kubernetes.io/dockerconfigjson")
    (tmp_path / "secret.yaml").write_text(secret)
    (tmp_path / "fix.diff").write_bytes(_diff(tmp_path, ".", "--no-config", "--assume-private"))
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True)
    applied = subprocess.run(["git", "apply", "fix.diff"], cwd=tmp_path, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    patched = target.read_bytes()
    target.write_bytes(pod.encode())
    assert run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write").returncode == 0
    assert target.read_bytes() == patched
    assert b"\r\n  imagePullSecrets:\r\n  - name: pull\r\n" in patched


def _fixable(tmp_path: Path) -> Path:
    """good.yaml: a pull secret of the wrong type, referenced by a pod (one fix)."""
    good = tmp_path / "good.yaml"
    good.write_text(
        DOCUMENTS[0]
        + "---\n"
        + DOCUMENTS[1].replace("  containers:", "  imagePullSecrets:\n  - name: pull\n  containers:")
    )
    return good


def _problem_lines(scan_output: str) -> list[str]:
    """The input problems a text scan report lists: its header and the lines after it."""
    lines = scan_output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Input problems:"))
    return lines[start:]


def test_unreadable_input_is_reported_as_scan_reports_it_and_the_rest_is_still_fixed(tmp_path: Path) -> None:
    """`fix` said `0 fixable in 0 file(s)` and exited 0 for invalid YAML; now it lists what it could
    not read, as scan does, exits 2, and still shows (writes) the fixes of the readable files."""
    good = _fixable(tmp_path)
    before = good.read_text()
    (tmp_path / "bad.yaml").write_text("a: [\n")
    (tmp_path / "binary.yaml").write_bytes(b"apiVersion: v1\nkind: Pod\n\x80\x81\x00\x01")
    (tmp_path / "tag.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\nspec:\n  containers:\n  - name: c\n"
        "    image: !custom reg.corp.example/app:1\n"
    )
    scan = run(tmp_path, "scan", ".", "--no-config", "--assume-private", "--color", "never")
    assert scan.returncode == 2
    expected = _problem_lines(scan.stdout)
    assert len(expected) == 4 and "Input problems: 3 errors" in expected[0]

    shown = run(tmp_path, "fix", ".", "--no-config", "--assume-private")
    assert shown.returncode == 2, shown.stderr
    assert "+type: kubernetes.io/dockerconfigjson" in shown.stdout
    lines = shown.stderr.splitlines()
    assert "1 fixable in 1 file; 0 left to do by hand" in lines
    assert lines[lines.index("1 fixable in 1 file; 0 left to do by hand") + 1 :] == expected
    assert any("bad.yaml: document 1, line 2: error: invalid YAML" in line for line in expected)
    assert any("binary.yaml" in line and "not UTF-8 text" in line for line in expected)
    assert any("tag.yaml" in line and "unknown YAML tag" in line for line in expected)

    allowed = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--allow-input-errors")
    assert allowed.returncode == 1, allowed.stderr
    assert allowed.stderr == shown.stderr

    written = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert written.returncode == 2, written.stderr
    assert good.read_text() == before.replace("type: Opaque", "type: kubernetes.io/dockerconfigjson")
    assert (tmp_path / "bad.yaml").read_text() == "a: [\n"
    assert written.stderr.splitlines()[-len(expected) :] == expected
    again = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write", "--allow-input-errors")
    assert again.returncode == 0, again.stderr
    assert "0 fixed in 0 files; 0 left to do by hand" in again.stderr
    assert CANARY not in shown.stdout + shown.stderr + written.stderr


def test_a_file_named_alone_that_cannot_be_read_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [\n")
    done = run(tmp_path, "fix", "bad.yaml", "--no-config")
    assert done.returncode == 2
    assert "bad.yaml: document 1, line 2: error: invalid YAML" in done.stderr
    assert "0 fixable in 0 files" in done.stderr


def test_an_unexpected_error_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    """As scan's: `internal error (…)`, exit 2; PULLGUARD_DEBUG=1 shows the traceback. Triggered by
    a closed standard output, which fix does not expect when it prints a diff."""
    _fixable(tmp_path)

    def closed_stdout(debug: bool) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PULLGUARD_DEBUG")}
        if debug:
            env["PULLGUARD_DEBUG"] = "1"
        return subprocess.run(
            [sys.executable, "-m", "pullguard", "fix", ".", "--no-config", "--assume-private"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=env,
            preexec_fn=lambda: os.close(1),
        )

    done = closed_stdout(debug=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("pullguard: internal error (")
    assert "set PULLGUARD_DEBUG=1 for the traceback" in done.stderr
    debug = closed_stdout(debug=True)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


@pytest.mark.parametrize("count,files", [(1, "1 file"), (3, "3 files")])
def test_the_summary_counts_files_in_words(tmp_path: Path, count: int, files: str) -> None:
    """It said `1 fixable in 1 file(s)`."""
    text = _fixable(tmp_path).read_text()
    for n in range(1, count):  # the same fix in another namespace, in another file
        (tmp_path / f"good{n}.yaml").write_text(text.replace("namespace: default", f"namespace: ns{n}"))
    done = run(tmp_path, "fix", ".", "--no-config", "--assume-private")
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == f"{count} fixable in {files}; 0 left to do by hand"
    written = run(tmp_path, "fix", ".", "--no-config", "--assume-private", "--write")
    assert written.stderr.splitlines()[-1] == f"{count} fixed in {files}; 0 left to do by hand"


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(text=texts, codec=st.sampled_from(list(ENCODINGS)), bom=st.booleans())
def test_decoding_and_encoding_give_the_same_bytes(text: str, codec: str, bom: bool) -> None:
    if codec != "utf-8" and not bom:
        return  # UTF-16/32 without a byte-order mark is not read (nor by the scan)
    data = _encoded(text, codec, ENCODINGS[codec] if bom else b"")
    decoded, encoding = decode(data)
    assert decoded == text and encoding.encode(decoded) == data


crlf_chunks = st.lists(
    st.sampled_from(
        ["a: 1\r\n", "---\r\n", "--- # c\r\n", "\r\n", "# x\r\n", "b: [1, 2]\n", "  - y\r\n", "---"]
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(parts=crlf_chunks)
def test_a_crlf_file_renders_byte_for_byte_and_an_edited_document_keeps_its_crlfs(parts: list[str]) -> None:
    text = "".join(parts)
    parsed = YamlFile.parse("f.yaml", text)
    assert parsed.render() == text
    for chunk in parsed.chunks:
        if chunk.number is None:
            continue
        try:
            data = parsed.document(chunk.number)
        except InputError:  # not YAML ruamel.yaml reads
            continue
        if not isinstance(data, dict):
            continue
        data["edited"] = 1
        parsed.touch(chunk.number)
        if "\r\n" in chunk.text:
            rendered = YamlFile.parse("f.yaml", parsed.render()).chunks
            edited = next(c for c in rendered if c.number == chunk.number and "edited" in c.text)
            assert edited.text.count("\n") == edited.text.count("\r\n")
        break
