"""Every file source is bounded by the bytes actually read, and no directory entry can block a scan."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostile.support import PRIVATE, ROOT, no_internal_error, pullguard
from pullguard.sources import files
from pullguard.sources.files import FileSource, discover
from pullguard.sources.model import InputProblem

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: shop}
spec:
  containers: [{name: c, image: reg.corp.example/fine:1}]
"""


def _report(result: subprocess.CompletedProcess[bytes]) -> dict:  # type: ignore[type-arg]
    no_internal_error(result)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _codes(report: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(Path(p["location"]["file"]).name, p["code"]) for p in report["inputProblems"]]


def test_devices_and_fifos_in_a_directory_are_refused_without_being_opened(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(POD)
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")  # a pull request can add this
    (tmp_path / "random.json").symlink_to("/dev/urandom")
    os.mkfifo(tmp_path / "pipe.yaml")  # nobody writes to it: opening it would block forever
    result = pullguard("scan", str(tmp_path), "-f", "json", *PRIVATE, timeout=30)
    report = _report(result)
    assert sorted(_codes(report)) == [
        ("pipe.yaml", "not-a-regular-file"),
        ("random.json", "not-a-regular-file"),
        ("zero.yaml", "not-a-regular-file"),
    ]
    assert [f["object"]["name"] for f in report["findings"]] == ["fine"]
    assert result.returncode == 2


def test_a_named_pipe_given_explicitly_is_still_read(tmp_path: Path) -> None:
    """`pullguard scan <(helm template …)`: bash passes /dev/fd/N, a pipe."""
    script = f'{sys.executable} -m pullguard scan <(printf %s "$POD") -f json {" ".join(PRIVATE).replace("*", chr(92) + "*")}'
    result = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        env={**os.environ, "POD": POD},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert [f["object"]["name"] for f in _report(result)["findings"]] == ["fine"]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_named_device_is_read_up_to_the_limit(device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size limit applies to the bytes read, not to st_size (0 for a device)."""
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1024 * 1024)
    source = FileSource(lambda _api, _kind: True)
    assert list(source.read([device])) == []
    assert [(p.code, p.level.value) for p in source.problems] == [("too-large", "error")]


def test_standard_input_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real bytes on real standard input (a pipe), over a lowered limit."""
    code = (
        "import sys; from pullguard.sources import files; files.MAX_FILE_BYTES = 1 << 20; "
        "s = files.FileSource(lambda a, k: True); list(s.read(['-'])); "
        "print([p.code for p in s.problems])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=b"a: b\n" * (1 << 19),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == b"['too-large']", result.stderr


def test_an_unlistable_subdirectory_is_an_input_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.yaml").write_text(POD)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "hidden.yaml").write_text(POD)
    locked.chmod(0)
    try:
        if os.geteuid() == 0:
            # root lists any directory: make the one listing root cannot be refused fail as it would
            real = os.scandir

            def scandir(path: str) -> object:
                if os.fspath(path) == str(locked):
                    raise PermissionError(13, "Permission denied", str(locked))
                return real(path)

            monkeypatch.setattr(os, "scandir", scandir)
        problems: list[InputProblem] = []
        found = discover([str(tmp_path)], problems)
    finally:
        locked.chmod(0o755)
    assert found == [str(tmp_path / "ok.yaml")]
    assert [(p.location.path, p.code) for p in problems] == [(str(locked), "unreadable-directory")]
    assert "Permission denied" in problems[0].message


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=3000),
    limit=st.integers(min_value=0, max_value=2500),
    size=st.integers(min_value=0, max_value=4000),
    first_read=st.sampled_from([1, 7, 64, 65536]),
)
def test_read_limited_reads_what_fits_and_never_more_than_one_byte_past_the_limit(
    data: bytes, limit: int, size: int, first_read: int
) -> None:
    """Whatever size the file claims (right, too small as when it grows, too large), the bytes come
    whole when they fit the limit, and None when they do not, after at most limit + 1 bytes read."""
    handle = io.BytesIO(data)
    with mock.patch.object(files, "_FIRST_READ", first_read):
        assert files.read_limited(handle, limit, size) == (data if len(data) <= limit else None)
    assert handle.tell() <= limit + 1
