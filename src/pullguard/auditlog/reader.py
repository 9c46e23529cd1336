"""Read Kubernetes API-server audit events as the log backend writes them, with bounded memory.

Accepted input, per file (or `-` for standard input), detected from its content:
- JSON lines: one `audit.k8s.io/v1` (or `v1beta1`) `Event` per line, as
  `--audit-log-path` writes it (a line may also hold a whole `EventList`);
- gzip-compressed files (rotated logs, `audit-….log.gz`), recognised by their magic bytes;
- one JSON document: an `EventList` (as the webhook backend posts it, or pretty-printed),
  read item by item, or a single `Event`.

Memory stays bounded whatever the file size: a line (or an `EventList` item) longer than
`max_event_bytes` is reported as an input problem and skipped without being held whole.
A malformed line is an input problem naming the file and line; the run goes on.

Only events about secrets are decoded (`b"secrets"` appears in every such event); any
other line is only checked to look like a JSON object. Request and response bodies
(`requestObject`, `responseObject`) are never returned: the caller gets `AuditEvent`,
which holds metadata only, and whether a body was present.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, cast

from pullguard.sources.model import InputProblem, Level, Location

DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_SECRETS = b"secrets"
_READ_VERBS = frozenset({"get", "list", "watch"})
_Stream = io.BufferedReader | gzip.GzipFile  # both peek


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """The metadata of one audit event about secrets; never a request or response body."""

    path: str
    line: int
    audit_id: str
    stage: str
    level: str
    verb: str
    username: str
    groups: tuple[str, ...]
    impersonated_user: str | None
    impersonated_groups: tuple[str, ...]
    source_ips: tuple[str, ...]
    user_agent: str
    namespace: str  # "" for a cluster-wide request
    name: str  # "" for a list/watch of every secret (of the namespace, or of the cluster)
    code: int | None  # responseStatus.code; None when the stage logs none
    time: str  # stageTimestamp, else requestReceivedTimestamp (RFC 3339)
    authz_reason: str  # annotation authorization.k8s.io/reason (names the binding that allowed it)
    authz_decision: str  # annotation authorization.k8s.io/decision: allow / forbid
    has_body: bool  # requestObject or responseObject was logged: the log holds secret data

    @property
    def is_read(self) -> bool:
        return self.verb in _READ_VERBS

    @property
    def subject(self) -> str:
        """The user the request was authorised as: the impersonated one, when there is one."""
        return self.impersonated_user or self.username

    @property
    def subject_groups(self) -> tuple[str, ...]:
        return self.impersonated_groups if self.impersonated_user else self.groups


@dataclass(slots=True)
class ReadStats:
    files: int = 0
    lines: int = 0
    events: int = 0  # every event read, secrets or not
    secret_events: int = 0  # events about core/v1 secrets
    bytes: int = 0  # uncompressed bytes read
    problems: list[InputProblem] = field(default_factory=list)
    problems_per_file: dict[str, int] = field(default_factory=dict)
    problems_dropped: int = 0  # beyond MAX_PROBLEMS_PER_FILE in one file: counted, not kept


class _Malformed(Exception):
    pass


def read_events(
    paths: list[str], stats: ReadStats, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> Iterator[AuditEvent]:
    """Every event about core `secrets` in the files, in file order; problems go to `stats.problems`."""
    for path in paths:
        stats.files += 1
        try:
            if path == "-":
                yield from _read_stream(sys.stdin.buffer, "-", stats, max_event_bytes)
            else:
                with open(path, "rb") as raw:
                    yield from _read_stream(raw, path, stats, max_event_bytes)
        except OSError as error:
            _problem(stats, path, 0, "unreadable-file", f"cannot read: {error.strerror or error}")


def _read_stream(raw: IO[bytes], path: str, stats: ReadStats, limit: int) -> Iterator[AuditEvent]:
    buffered = (
        raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw), _CHUNK)
    )
    stream: _Stream = buffered
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        stream = gzip.GzipFile(fileobj=buffered, mode="rb")
    line_no = 0
    lines_before = stats.lines
    try:
        found = _skip_blank(stream, stats)
        if found is None:
            return
        line_no = found
        head = stream.readline(limit + 1)
        stats.bytes += len(head)
        too_long = len(head) > limit and not head.endswith(b"\n")
        text = head.strip()
        if too_long and b'"EventList"' in head[:512]:
            # one EventList on one (long) line: read as a document, bounded item by item
            yield from _read_documents(stream, head, path, line_no, stats, limit)
        elif text.startswith(b"{") and not text.endswith(b"}") and not too_long:
            # a pretty-printed document (EventList or Event) spread over lines
            yield from _read_documents(stream, head, path, line_no, stats, limit)
        else:
            # JSON lines, one event per line (the log backend's format)
            yield from _read_lines(stream, path, line_no - 1, stats, limit, first=head)
    except (OSError, EOFError, zlib.error) as error:
        at = line_no + stats.lines - lines_before  # about where it stopped (blank lines uncounted)
        _problem(stats, path, at, "unreadable-file", f"cannot read on after about line {at}: {error}")


def _skip_blank(stream: _Stream, stats: ReadStats) -> int | None:
    """Skip leading whitespace (byte by byte: bounded); the number of the first other line, None when empty."""
    line_no = 1
    while True:
        peeked = stream.peek(1)[:1]
        if not peeked:
            return None
        if peeked not in b" \t\r\n":
            return line_no
        stats.bytes += 1
        if stream.read(1) == b"\n":
            line_no += 1


def _read_lines(
    stream: _Stream, path: str, line_no: int, stats: ReadStats, limit: int, first: bytes = b""
) -> Iterator[AuditEvent]:
    """JSON lines from after line `line_no`; `first` is that next line when already read."""
    readline = stream.readline
    while True:
        if first:
            line, first = first, b""
        else:
            line = readline(limit + 1)
            if not line:
                return
            stats.bytes += len(line)
        line_no += 1
        if len(line) > limit and not line.endswith(b"\n"):
            skipped = _skip_rest_of_line(stream, stats)
            _problem(
                stats,
                path,
                line_no,
                "event-too-long",
                f"line longer than {limit} bytes ({len(line) + skipped} bytes) skipped; raise --max-event-bytes to read it",
            )
            continue
        if _SECRETS not in line:
            text = line.strip()
            if not text:
                continue
            stats.lines += 1
            if text[:1] != b"{" or text[-1:] != b"}":
                _problem(
                    stats,
                    path,
                    line_no,
                    "malformed-event",
                    "not a JSON object (an audit event per line expected)",
                )
            else:
                stats.events += 1
            continue
        stats.lines += 1
        yield from _events_of_line(line, path, line_no, stats)


def _skip_rest_of_line(stream: _Stream, stats: ReadStats) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(_CHUNK)
        skipped += len(chunk)
        stats.bytes += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _events_of_line(line: bytes, path: str, line_no: int, stats: ReadStats) -> Iterator[AuditEvent]:
    try:
        value = json.loads(line)
    except ValueError as error:
        reason = str(error).split(":")[0]
        _problem(stats, path, line_no, "malformed-event", f"not valid JSON ({reason})")
        return
    except RecursionError:
        _problem(stats, path, line_no, "malformed-event", "JSON nested too deeply")
        return
    yield from _events_of_value(value, path, line_no, stats)


def _events_of_value(value: Any, path: str, line_no: int, stats: ReadStats) -> Iterator[AuditEvent]:
    if not isinstance(value, dict):
        _problem(stats, path, line_no, "malformed-event", "not a JSON object (an audit event expected)")
        return
    if value.get("kind") == "EventList":
        items = value.get("items")
        if not isinstance(items, list):
            _problem(stats, path, line_no, "malformed-event", "EventList without an items list")
            return
        for item in items:
            yield from _events_of_value(item, path, line_no, stats)
        return
    stats.events += 1
    try:
        event = _event(value, path, line_no)
    except _Malformed as error:
        _problem(stats, path, line_no, "malformed-event", str(error))
        return
    if event is not None:
        stats.secret_events += 1
        yield event


_EMPTY: Mapping[str, Any] = {}


def _event(value: Mapping[str, Any], path: str, line_no: int) -> AuditEvent | None:
    """The event's metadata when it is about core secrets; fields are type-checked on the way."""
    ref = value.get("objectRef")
    if ref is None:
        return None
    if type(ref) is not dict:
        raise _Malformed("field objectRef is not an object")
    if (
        ref.get("resource") != "secrets"
        or ref.get("apiGroup") not in (None, "", "core")
        or ref.get("subresource")
    ):
        return None
    kind = value.get("kind")
    if kind is not None and kind != "Event":
        raise _Malformed(f"kind {str(kind)[:40]!r} is not an audit Event")
    api_version = value.get("apiVersion")
    if api_version is not None and not str(api_version).startswith("audit.k8s.io/"):
        raise _Malformed(f"apiVersion {str(api_version)[:60]!r} is not audit.k8s.io")
    get = value.get
    user = get("user") or _EMPTY
    impersonated = get("impersonatedUser") or _EMPTY
    status = get("responseStatus") or _EMPTY
    annotations = get("annotations") or _EMPTY
    for key, part in (
        ("user", user),
        ("impersonatedUser", impersonated),
        ("responseStatus", status),
        ("annotations", annotations),
    ):
        if type(part) is not dict:
            raise _Malformed(f"field {key} is not an object")
    code = status.get("code")
    if code is not None and type(code) is not int:
        raise _Malformed("field responseStatus.code is not an integer")
    texts = {
        "auditID": get("auditID"),
        "stage": get("stage"),
        "level": get("level"),
        "verb": get("verb"),
        "user.username": user.get("username"),
        "impersonatedUser.username": impersonated.get("username"),
        "userAgent": get("userAgent"),
        "objectRef.namespace": ref.get("namespace"),
        "objectRef.name": ref.get("name"),
        "stageTimestamp": get("stageTimestamp") or get("requestReceivedTimestamp") or get("timestamp"),
        "annotations.authorization.k8s.io/reason": annotations.get("authorization.k8s.io/reason"),
        "annotations.authorization.k8s.io/decision": annotations.get("authorization.k8s.io/decision"),
    }
    for key, text in texts.items():
        if text is not None and type(text) is not str:
            raise _Malformed(f"field {key} is not a string")
    lists = {
        "user.groups": user.get("groups") or [],
        "impersonatedUser.groups": impersonated.get("groups") or [],
        "sourceIPs": get("sourceIPs") or [],
    }
    for key, items in lists.items():
        if type(items) is not list or not all(type(item) is str for item in items):
            raise _Malformed(f"field {key} is not a list of strings")
    t = [text or "" for text in texts.values()]
    return AuditEvent(
        path,
        line_no,
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        tuple(lists["user.groups"]),
        t[5] or None,
        tuple(lists["impersonatedUser.groups"]),
        tuple(lists["sourceIPs"]),
        t[6],
        t[7],
        t[8],
        code,
        t[9],
        t[10],
        t[11],
        "requestObject" in value or "responseObject" in value,
    )


# -- one JSON document (EventList or Event) over many lines ----------------------------------


class _Document:
    """A text buffer over the stream that grows on demand, never beyond one item plus a chunk."""

    def __init__(self, stream: _Stream, head: bytes, stats: ReadStats, limit: int) -> None:
        self.stream = stream
        self.utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = self.utf8.decode(head)
        self.pos = 0
        self.stats = stats
        self.limit = limit
        self.eof = False
        self.consumed_lines = 0  # newlines before self.pos, for locations

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        self.stats.bytes += len(chunk)
        if not chunk:
            self.eof = True
        self.text = self.text[self.pos :] + self.utf8.decode(chunk, final=self.eof)
        self.pos = 0
        return bool(chunk)

    def skip_ws(self) -> None:
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                if self.text[self.pos] == "\n":
                    self.consumed_lines += 1
                self.pos += 1
            if self.pos < len(self.text) or not self.more():
                return

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Malformed(f"expected {char!r} in the JSON document")
        self.pos += 1

    def value(self, decoder: json.JSONDecoder) -> Any:
        """The next JSON value, reading more until it is complete; bounded by `limit`."""
        self.skip_ws()
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if len(self.text) - self.pos > self.limit:
                    raise _TooLong from None
                if self.more():
                    continue  # perhaps only incomplete: read on (at most `limit` bytes)
                raise _Malformed(f"not valid JSON ({error.msg})") from None
            except RecursionError:
                raise _Malformed("JSON nested too deeply") from None
            if end >= len(self.text) and not isinstance(value, dict | list | str) and self.more():
                continue  # a number or literal cut by the chunk boundary
            self.consumed_lines += self.text.count("\n", self.pos, end)
            self.pos = end
            return value


class _TooLong(Exception):
    pass


def _read_documents(
    stream: _Stream, head: bytes, path: str, line_no: int, stats: ReadStats, limit: int
) -> Iterator[AuditEvent]:
    """JSON documents one after the other: EventLists read item by item (each item bounded by
    `limit`), or pretty-printed Events (each member bounded by `limit`)."""
    doc = _Document(stream, head, stats, limit)
    decoder = json.JSONDecoder()

    def here() -> int:
        return line_no + doc.consumed_lines

    try:
        while doc.peek():
            start = here()
            top: dict[str, Any] = {}  # the members other than items (an Event's, or the list's metadata)
            saw_items = False
            doc.expect("{")
            while doc.peek() != "}":
                key = doc.value(decoder)
                if not isinstance(key, str):
                    raise _Malformed("expected a member name in the JSON document")
                doc.expect(":")
                if key == "items" and doc.peek() == "[":
                    saw_items = True
                    doc.expect("[")
                    while doc.peek() != "]":
                        at = here()
                        item = doc.value(decoder)
                        stats.lines += 1
                        yield from _events_of_value(item, path, at, stats)
                        if doc.peek() == ",":
                            doc.pos += 1
                        elif doc.peek() != "]":
                            raise _Malformed("expected ',' or ']' between EventList items")
                    doc.expect("]")
                else:
                    top[key] = doc.value(decoder)
                if doc.peek() == ",":
                    doc.pos += 1
                elif doc.peek() != "}":
                    raise _Malformed("expected ',' or '}' between members")
            doc.expect("}")
            if not saw_items:
                stats.lines += 1
                yield from _events_of_value(top, path, start, stats)
    except _TooLong:
        message = f"a JSON value longer than {limit} bytes; stopped reading this file"
        _problem(stats, path, here(), "event-too-long", message)
    except _Malformed as error:
        _problem(stats, path, here(), "malformed-event", f"{error}; stopped reading this file")


MAX_PROBLEMS_PER_FILE = 1000


def _problem(stats: ReadStats, path: str, line: int, code: str, message: str) -> None:
    """Record an input problem; past MAX_PROBLEMS_PER_FILE for one file only count them."""
    stats.problems_per_file[path] = count = stats.problems_per_file.get(path, 0) + 1
    if count > MAX_PROBLEMS_PER_FILE:
        stats.problems_dropped += 1
        return
    stats.problems.append(
        InputProblem(Location(path, max(line, 1), max(line, 1)), Level.ERROR, code, message)
    )
