"""Reading audit logs: JSON lines, gzip-rotated files, EventList documents; bad input is located, never fatal."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from auditlog import auditgen as g
from pullguard.auditlog.reader import AuditEvent, ReadStats, read_events


def read(*paths: Path, limit: int = 1 << 20) -> tuple[list[AuditEvent], ReadStats]:
    stats = ReadStats()
    return list(read_events([str(p) for p in paths], stats, limit)), stats


def sample() -> list[dict[str, object]]:
    return [
        g.kubelet_get(),
        g.event(verb="list", user="alice", resource="pods"),  # not about secrets: skipped undecoded
        *g.watch(
            user="system:node:node-2", groups=("system:nodes",), field_name="regcred", user_agent=g.KUBELET_UA
        ),
        g.event(verb="get", user="eve", name="regcred", code=403),
    ]


def test_json_lines(tmp_path: Path) -> None:
    events, stats = read(g.write(tmp_path / "audit.log", sample()))
    assert [(e.verb, e.stage, e.line) for e in events] == [
        ("get", "ResponseComplete", 1),
        ("watch", "ResponseStarted", 3),
        ("watch", "ResponseComplete", 4),
        ("get", "ResponseComplete", 5),
    ]
    assert (stats.events, stats.secret_events, stats.problems) == (5, 4, [])
    first = events[0]
    assert (first.username, first.groups, first.namespace, first.name) == (
        "system:node:node-1",
        ("system:nodes", "system:authenticated"),
        "shop",
        "regcred",
    )
    assert first.user_agent == g.KUBELET_UA and first.source_ips == ("10.0.1.11",)
    assert first.time == "2026-06-01T09:00:00.003000Z" and first.code == 200
    assert events[1].name == "regcred"  # a watch with a metadata.name field selector names the secret
    assert events[3].code == 403 and events[3].authz_decision == "forbid"


def test_gzip_rotated_file_and_several_files(tmp_path: Path) -> None:
    plain = g.write(tmp_path / "audit.log", sample())
    rotated = g.write(tmp_path / "audit-2026-06-01T09-00-00.000.log.gz", sample(), compress=True)
    assert rotated.read_bytes()[:2] == b"\x1f\x8b"
    events, stats = read(rotated, plain)
    assert len(events) == 8 and stats.files == 2 and not stats.problems
    assert events[0].path == str(rotated) and events[4].path == str(plain)


def test_event_list_compact_and_pretty(tmp_path: Path) -> None:
    items = sample()
    compact = tmp_path / "list.json"
    compact.write_text(json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(
        json.dumps(
            {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items}, indent=2
        )
    )
    for path in (compact, pretty):
        events, stats = read(path)
        assert [e.verb for e in events] == ["get", "watch", "watch", "get"], path
        assert not stats.problems
    # pretty-printed: each item is located at its own line
    events, _ = read(pretty)
    text = pretty.read_text().splitlines()
    assert all(text[e.line - 1].strip() == "{" for e in events)


def test_event_list_read_in_small_pieces(tmp_path: Path) -> None:
    """Items are decoded one at a time from a buffer that grows only to the item's size."""
    items = [g.kubelet_get(name=f"s{i}") for i in range(3000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"kind": "EventList", "items": items}, indent=1))
    events, stats = read(path, limit=4096)
    assert len(events) == 3000 and not stats.problems
    assert events[-1].name == "s2999"


def test_single_pretty_event(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(g.kubelet_get(), indent=2))
    events, stats = read(path)
    assert len(events) == 1 and events[0].line == 1 and not stats.problems


def test_malformed_lines_are_located_and_the_rest_is_read(tmp_path: Path) -> None:
    lines = [g.line(e) for e in sample()]
    lines.insert(1, '{"kind":"Event","objectRef":{"resource":"secrets"  \n')  # cut short
    lines.insert(3, "garbage without braces\n")
    lines.insert(4, '{"kind":"Event","objectRef":{"resource":"secrets","name":7}}\n')  # wrong type
    path = tmp_path / "audit.log"
    path.write_text("".join(lines))
    events, stats = read(path)
    assert len(events) == 4
    assert [(p.location.path, p.location.line, p.code) for p in stats.problems] == [
        (str(path), 2, "malformed-event"),
        (str(path), 4, "malformed-event"),
        (str(path), 5, "malformed-event"),
    ]
    assert "objectRef.name is not a string" in stats.problems[2].message


def test_a_line_longer_than_the_limit_is_skipped_not_held(tmp_path: Path) -> None:
    huge = g.event(verb="get", user="x", name="regcred", level="RequestResponse", body_password="p" * 50_000)
    path = g.write(tmp_path / "audit.log", [g.kubelet_get(), huge, g.kubelet_get(node="node-9")])
    events, stats = read(path, limit=8192)
    assert [e.username for e in events] == ["system:node:node-1", "system:node:node-9"]
    (problem,) = stats.problems
    assert (problem.location.line, problem.code) == (2, "event-too-long")
    assert "p" * 100 not in problem.message


def test_truncated_gzip_is_a_problem_after_what_could_be_read(tmp_path: Path) -> None:
    data = gzip.compress("".join(g.line(g.kubelet_get(name=f"s{i}")) for i in range(2000)).encode())
    path = tmp_path / "audit.log.gz"
    path.write_bytes(data[: len(data) // 2])
    events, stats = read(path)
    assert 0 < len(events) < 2000
    (problem,) = stats.problems
    assert problem.code == "unreadable-file" and problem.location.path == str(path)
    assert problem.location.line >= len(events)  # where it stopped, not where it started


def test_missing_file_does_not_hide_the_others(tmp_path: Path) -> None:
    good = g.write(tmp_path / "audit.log", sample())
    events, stats = read(tmp_path / "absent.log", good)
    assert len(events) == 4
    (problem,) = stats.problems
    assert problem.code == "unreadable-file" and "absent.log" in problem.location.path


def test_bodies_are_noticed_never_kept(tmp_path: Path) -> None:
    path = g.write(
        tmp_path / "audit.log", [g.event(verb="get", user="x", name="regcred", level="RequestResponse")]
    )
    (event,) = read(path)[0]
    assert event.has_body
    assert g.CANARY not in repr(event)
    assert all(g.CANARY not in str(getattr(event, f)) for f in event.__slots__)  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=200), st.just(g.line(g.kubelet_get()).encode())), max_size=12))
def test_arbitrary_bytes_never_crash(chunks: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "audit.log"
        path.write_bytes(b"\n".join(chunks))
        stats = ReadStats()
        events = list(read_events([str(path)], stats, 4096))
        for problem in stats.problems:
            assert problem.location.path == str(path) and problem.location.line >= 1
        assert all(e.username == "system:node:node-1" for e in events)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda verb, user, name, code: g.event(verb=verb, user=user, name=name, code=code),
            st.sampled_from(["get", "list", "watch"]),
            st.text(min_size=1, max_size=30),
            st.one_of(st.none(), st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)),
            st.sampled_from([200, 403, 404]),
        ),
        max_size=10,
    )
)
def test_events_round_trip(events: list[dict[str, object]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = g.write(Path(directory) / "audit.log", events)
        stats = ReadStats()
        read_back = list(read_events([str(path)], stats))
        assert not stats.problems
        assert [(e.verb, e.username, e.name or None, e.code) for e in read_back] == [
            (ev["verb"], ev["user"]["username"], ev["objectRef"].get("name"), ev["responseStatus"]["code"])  # type: ignore[index,union-attr]
            for ev in events
        ]


def test_a_first_line_longer_than_the_limit_does_not_end_the_file(tmp_path: Path) -> None:
    huge = g.event(verb="get", user="x", name="regcred", level="RequestResponse", body_password="p" * 50_000)
    path = g.write(tmp_path / "audit.log", [huge, g.kubelet_get()])
    events, stats = read(path, limit=8192)
    assert [e.username for e in events] == ["system:node:node-1"]
    assert [(p.location.line, p.code) for p in stats.problems] == [(1, "event-too-long")]


def test_a_one_line_event_list_longer_than_the_limit_is_read_item_by_item(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(
        json.dumps({"kind": "EventList", "items": [g.kubelet_get(name=f"s{i}") for i in range(200)]})
    )
    assert path.stat().st_size > 8192
    events, stats = read(path, limit=8192)
    assert len(events) == 200 and not stats.problems


def test_pretty_printed_documents_one_after_another(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    documents = [
        g.kubelet_get(name="a"),
        {"kind": "EventList", "items": [g.kubelet_get(name="b")]},
        g.kubelet_get(name="c"),
    ]
    path.write_text("\n".join(json.dumps(d, indent=2) for d in documents) + "\n")
    events, stats = read(path)
    assert [e.name for e in events] == ["a", "b", "c"] and not stats.problems
    lines = path.read_text().splitlines()
    assert lines[events[2].line - 1] == "{" and lines[events[2].line - 2] == "}"


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True), min_size=1, max_size=15),
    indent=st.sampled_from([None, 0, 1, 2, 4]),
    chunk=st.integers(min_value=1, max_value=700),
    wrap=st.booleans(),
)
def test_documents_read_alike_whatever_the_chunk_boundaries(
    names: list[str], indent: int | None, chunk: int, wrap: bool
) -> None:
    """EventList / event documents are decoded across buffer refills: any chunk size, any layout."""
    import tempfile

    from pullguard.auditlog import reader

    items = [g.kubelet_get(name=name) for name in names]
    document: object = {"kind": "EventList", "metadata": {"resourceVersion": 7}, "items": items}
    text = (
        json.dumps(document, indent=indent)
        if wrap
        else "\n".join(json.dumps(i, indent=indent) for i in items)
    )
    saved = reader._CHUNK
    reader._CHUNK = chunk
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "events.json"
            path.write_text(text)
            stats = ReadStats()
            events = list(read_events([str(path)], stats, 1 << 20))
    finally:
        reader._CHUNK = saved
    assert not stats.problems
    assert [e.name for e in events] == names
