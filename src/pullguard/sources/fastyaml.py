"""A fast first reader for plain YAML documents, with the reference reader behind it.

libyaml composes about 5 MB/s here; `yaml-rs` (a Rust YAML parser on PyPI) builds the
same document as Python data about ten times faster. It speaks YAML 1.2 while
kubectl's decoding (go-yaml v2 behind sigs.k8s.io/yaml) keeps YAML 1.1 scalars, and
it knows no line numbers. So it is used only where it cannot differ:

- a document with a construct where the two YAML versions or readers may differ
  (anchors, tags, merge keys, tabs, directives, a key that is not a string,
  such as `1:`, `~:` or the collection an un-rendered `{{ }}` template parses to) is
  left to the reference reader (`yamldocs.py`) whole, as is anything it cannot parse,
  a duplicate key, a `kind: List`, or a document that is not one object; YAML 1.1-only
  scalars such as `yes`, `on`, `0755`, `1_000`, `1:30` and timestamps are read by the
  reference reader where pullguard reads them (`_wrap`);
- lines are found from the document's text, lazily, for the few mappings a report
  locates (pod specs, image holders), and checked against the parsed value; when
  the text does not show the line plainly, the reference reader composes that one
  document and answers (`LineSource.reference_line`).

The differential test (`tests/sources/test_fastyaml.py`) scans the shared corpus and
generated documents both ways and requires the same report; `make bench` counts the
documents each reader took.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

try:  # optional: without its wheel, every document takes the reference reader
    import yaml_rs

    AVAILABLE = True
except ImportError:  # pragma: no cover - the reference reader is tested through PULLGUARD_READER
    AVAILABLE = False

# Scalars YAML 1.1 reads otherwise than YAML 1.2 when they are written plain (booleans,
# octal, binary, sexagesimal, underscores, exponent without dot, leading zeros, special
# floats, timestamps, the `=` value key). Checked on the values pullguard reads: such a
# value (quoted or not) is taken from the reference reader instead.
_YAML11_AMBIGUOUS = re.compile(
    r"[yYnN]|[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF"
    r"|[-+]?0[0-9_]+(?:\.[0-9_]*)?"
    r"|[-+]?0[bBoOxX][0-9a-fA-F_]+"
    r"|[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?"
    r"|[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?"
    r"|[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?"
    r"|="
)
# A tag (`!`) or an anchor (`&`) is a node's property: it can only open a node, at a line's
# start or after `[`, `{`, `,` or `:`, then any `- ` or `? ` indicators and spaces. This is
# what may stand before one on its line; elsewhere the mark is text (`a != b`, `x && y`
# in scripts and CEL rules), which both readers read alike.
_NODE_START = re.compile(r"(?:^|[\[{,:])(?:[ ]*[-?][ ]+)*[ ]*\Z", re.MULTILINE)
# A plain or quoted key at a line's start, after its indentation and any `- ` indicators.
_KEY = re.compile(r"""( *)((?:- +)*)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[][^:#]*?) *:(?: |$)""")

# Nesting depth. yaml-rs builds nested block collections by recursion on the native stack: a
# document nested about 11,400 levels deep (`- - - … x` on one line, or mappings indented one
# more space per level) overflows the 8 MiB main stack and kills the process (SIGSEGV), where
# 10,000 levels still parse. Its flow collections (`[[[`, `{a: {a: `) stop cleanly at 255 levels.
# A block collection starts at a line's first character or after an indicator (`- `, `? `, `: `)
# of that line's leading run of spaces and indicators, and a nested one starts further right,
# except a sequence right under a mapping key (same column): a document whose every line starts
# with fewer than _DEEP_PREFIX spaces and indicators nests at most 2 * (_DEEP_PREFIX + 1) block
# levels (258), far below the crash and far above real objects (a few dozen). A longer run
# sends the document to the reference reader, which refuses more than 1,000 levels cleanly
# (libyaml's nesting limit). One pattern with a literal start: about 1 ms per MB of YAML.
_DEEP_PREFIX = 128
_DEEP_LINE = re.compile(rf"\n[ ?:-]{{{_DEEP_PREFIX}}}")
_DEEP_FIRST_LINE = re.compile(rf"[ ?:-]{{{_DEEP_PREFIX}}}")
# Characters libyaml refuses ("control characters are not allowed": all but tab, LF, CR and
# NEL below U+00A0, surrogates, U+FFFE, U+FFFF), as go-yaml v2 does for kubectl (readerc.go),
# and the YAML 1.1 line breaks that YAML 1.2 reads as text (NEL, LS, PS). yaml-rs reads a
# NUL as the end of the document and keeps the others: such documents take the reference
# reader, which reports the character and its line. Tab and CR count here too (tabs are
# risky anyway; a lone CR is a line break the `\n` checks above would not see). The ASCII
# that is allowed is deleted byte-wise in C first: only documents with other characters
# are searched with the pattern.
_PLAIN_ASCII = b"\n" + bytes(range(0x20, 0x7F))
_UNUSUAL = re.compile("[^\n -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def yaml11_ambiguous(text: str) -> bool:
    """Whether YAML 1.1 may read this plain scalar as something else than this string."""
    return _YAML11_AMBIGUOUS.fullmatch(text) is not None


def parse(chunk: str) -> dict[str, Any] | None:
    """The document as Python data, or None when the reference reader must read it."""
    if not AVAILABLE or chunk.startswith("%") or _risky(chunk):
        return None
    try:
        value = yaml_rs.loads(chunk, parse_datetime=False)
        return value if isinstance(value, dict) and _string_keys(value) else None
    except Exception:  # any parse problem (or a document too deep): the reference reader reports it exactly
        return None


def _risky(chunk: str) -> bool:
    """Whether the text may hold a construct the two readers could read differently.

    - tabs, merge keys (`<<`), directives (`%` at a line's start), document end markers;
    - a tag or an anchor (`!` or `&` where a node starts): the reference reader places a
      node at its tag or anchor, which may be on the line above the node's first key;
    - not an alias (`*`) alone: without an anchor every alias is undefined, which both
      readers refuse, so the reference reader reports it. A `*` in a cron schedule stays on
      the fast path.
    """
    if "\t" in chunk or "<<" in chunk or "\n%" in chunk or "\n..." in chunk:
        return True
    if _unusual_characters(chunk) or _may_nest_deep(chunk):
        return True
    return _opens_a_node(chunk, "!") or _opens_a_node(chunk, "&")


def _unusual_characters(chunk: str) -> bool:
    """Whether the text holds a character outside printable ASCII and LF that the readers may
    read differently (a NUL, another control character, NEL, LS, PS, tab, CR)."""
    rest = chunk.encode("utf-8", "surrogatepass").translate(None, _PLAIN_ASCII)
    if not rest:
        return False
    if not rest.isascii():  # non-ASCII characters, whole (UTF-8 sequences stay intact): look closer
        rest_text = rest.decode("utf-8", "surrogatepass")
        return _UNUSUAL.search(rest_text) is not None
    return True


def _may_nest_deep(chunk: str) -> bool:
    """Whether a line starts with _DEEP_PREFIX or more spaces and indicators: the document may
    nest deeper than yaml-rs can build without overflowing its stack."""
    return _DEEP_LINE.search(chunk) is not None or _DEEP_FIRST_LINE.match(chunk) is not None


def _opens_a_node(chunk: str, mark: str) -> bool:
    """Whether `mark` (`!` a tag, `&` an anchor) stands where a node starts, judged by the
    text before it on its line. Found with `str.find`: a pattern over the whole text would
    try every position of a large document."""
    position = chunk.find(mark)
    while position >= 0:
        line_start = chunk.rfind("\n", 0, position) + 1
        # an anchor needs a name; `!` alone is the non-specific tag
        named = mark == "!" or chunk[position + 1 : position + 2] not in ("", " ", "\n", "\r")
        if named and _NODE_START.search(chunk, line_start, position) is not None:
            return True
        position = chunk.find(mark, position + 1)
    return False


def _string_keys(mapping: dict[Any, Any]) -> bool:
    """Whether every mapping key in the document is a string. The reference reader keys a
    mapping by its keys' text; YAML 1.2 reads some keys as numbers, booleans or null (`0E0:`,
    `1:`, `~:`), and a key that is a collection (`{{ .x }}: y`, how an un-rendered template
    parses) is refused by the reference reader: such documents take it. (Recursive: twice as
    fast as a stack here; a document too deep for it raises RecursionError, see `parse`.)"""
    for key, child in mapping.items():
        if type(key) is not str:
            return False
        kind = type(child)
        if kind is dict:
            if not _string_keys(child):
                return False
        elif kind is list and not _string_keys_in(child):
            return False
    return True


def _string_keys_in(items: list[Any]) -> bool:
    for child in items:
        kind = type(child)
        if kind is dict:
            if not _string_keys(child):
                return False
        elif kind is list and not _string_keys_in(child):
            return False
    return True


class LineSource:
    """Lines of one document's mappings, found in its text; the reference reader answers
    when the text does not show them plainly."""

    __slots__ = (
        "_chunk",
        "_dash",
        "_indent",
        "_keys",
        "_lines",
        "_offset",
        "_plain_scalar",
        "_reference",
        "_value",
        "fallbacks",
    )

    def __init__(
        self,
        chunk: str,
        offset: int,
        reference: Callable[[str, int, tuple[Any, ...], str | None], int],
        value: Callable[[str, tuple[Any, ...]], Any],
        plain_scalar: Callable[[str, int], Any] | None = None,
    ) -> None:
        self._chunk = chunk
        self._plain_scalar = plain_scalar
        self._offset = offset
        self._lines: list[str] | None = None
        self._keys: list[tuple[int, str] | None] = []  # per line: (key column, key) of a plain key
        self._indent: list[int] = []  # per line: its indentation, -1 for blank and comment lines
        self._dash: list[bool] = []  # per line: it starts a sequence item
        self._reference = reference
        self._value = value
        self.fallbacks = 0

    def reference_value(self, path: tuple[Any, ...], parsed: Any = None) -> Any:
        """The value the reference reader builds at `path` (a YAML 1.1 scalar the fast reader
        may read otherwise; `parsed`, what the fast reader read there).

        When the scalar's key is written once in the document, at a line's start, with its
        value on that line, the value is built from that text as the reference reader builds
        a scalar (`plain_scalar`: its resolver and constructors); otherwise the reference
        reader composes the document."""
        if self._plain_scalar is not None and path and type(path[-1]) is str:
            written = self._scalar_text(path[-1])
            if written is not None:
                text, plain, line = written
                if type(parsed) is str:
                    if text == parsed:
                        return self._plain_scalar(text, line) if plain else text
                elif plain and type(parsed) in (int, float):
                    return self._plain_scalar(text, line)
        self.fallbacks += 1
        return self._value(self._chunk, path)

    def _scalar_text(self, key: str) -> tuple[str, bool, int] | None:
        """(text, whether plain, 0-based line) of the scalar after the one `key:` of the
        document; None when the key is written otherwise or more than once (quoted, explicit
        `? ` keys, inside a flow collection or a block scalar, not at a line's start), or its
        value is not one plain or simply quoted line."""
        chunk = self._chunk
        if "?" in chunk or f'"{key}"' in chunk or f"'{key}'" in chunk:
            return None
        needle = f"{key}:"
        found: tuple[int, str] | None = None
        position = chunk.find(needle)
        while position >= 0:
            start = chunk.rfind("\n", 0, position) + 1
            lead = chunk[start:position]
            if lead.strip(" ") and not (lead.lstrip(" ").startswith("- ") and not lead.strip(" -")):
                return None  # the key's text elsewhere than at a line's start
            if found is not None:
                return None  # twice
            end = chunk.find("\n", position)
            found = (start, chunk[position + len(needle) : end if end >= 0 else len(chunk)])
            position = chunk.find(needle, position + 1)
        if found is None:
            return None
        start, rest = found
        text = _single_line_scalar(rest)
        if text is None:
            return None
        return text, rest.strip()[0] not in "\"'", chunk.count("\n", 0, start)

    def _index(self) -> tuple[list[str], list[tuple[int, str] | None]]:
        if self._lines is None:
            lines = self._lines = self._chunk.split("\n")
            keys, indent, dash = self._keys, self._indent, self._dash
            match_key = _KEY.match
            for text in lines:
                stripped = text.lstrip(" ")
                if not stripped or stripped[0] == "#":
                    keys.append(None)
                    indent.append(-1)
                    dash.append(False)
                    continue
                indent.append(len(text) - len(stripped))
                dash.append(stripped[0] == "-" and (len(stripped) == 1 or stripped[1] == " "))
                match = match_key(text)
                if match is None or match.group(3)[0] in "\"'":
                    keys.append(None)  # no plain key here (quoted keys are left to the reference reader)
                else:
                    keys.append((len(match.group(1)) + len(match.group(2)), match.group(3)))
        return self._lines, self._keys

    def mapping_line(self, path: tuple[Any, ...], data: Mapping[str, Any]) -> int:
        first = next(iter(data), None)
        if isinstance(first, str):
            found = self._only_line(f"{first}:", first_content=not path)
            if found is not None:
                return found + self._offset
        found = self._locate(path, data, None)
        if found is None:
            self.fallbacks += 1
            return self._reference(self._chunk, self._offset, path, None)
        return found + self._offset

    def key_line(self, path: tuple[Any, ...], data: Mapping[str, Any], key: str) -> int:
        value = data.get(key)
        if isinstance(value, str) and value:
            found = self._only_line(f"{key}:", value=value)
            if found is not None:
                return found + self._offset
        found = self._locate(path, data, key)
        if found is None:
            self.fallbacks += 1
            return self._reference(self._chunk, self._offset, path, key)
        return found + self._offset

    # -- the quick way: a key written once in the document ---------------------------

    def _only_line(self, needle: str, *, value: str | None = None, first_content: bool = False) -> int | None:
        """The 0-based line of the one place `needle` (`key:`) starts a line's content (after
        indentation and `- `), with `value` plainly after it when given. None — the locator
        then looks closer — when it is anywhere else too (inside a flow mapping, another
        key, a block scalar), written with a value that is not one plain line, or twice."""
        chunk = self._chunk
        key = needle[:-1]
        if f'"{key}"' in chunk or f"'{key}'" in chunk:
            return None  # a quoted key may be this one
        found: int | None = None
        position = chunk.find(needle)
        while position >= 0:
            start = chunk.rfind("\n", 0, position) + 1
            lead = chunk[start:position]
            if lead.strip(" ") and not (lead.lstrip(" ").startswith("- ") and not lead.strip(" -")):
                return None  # the key's text elsewhere than at a line's start
            end = chunk.find("\n", position)
            rest = chunk[position + len(needle) : end if end >= 0 else len(chunk)]
            if value is not None:
                shown = _single_line_scalar(rest)
                if shown is None:
                    return None  # a value this search cannot read: maybe this one
                matches = shown == value
            else:
                matches = True
            if matches:
                if found is not None:
                    return None
                found = chunk.count("\n", 0, start)
                if first_content:  # the object's first line: the first line with content
                    head = chunk[:start]
                    if any(line.strip() and not line.lstrip().startswith("#") for line in head.split("\n")):
                        return None
                    return found
            position = chunk.find(needle, position + 1)
        return found

    # -- the text locator ---------------------------------------------------------

    def _locate(self, path: tuple[Any, ...], data: Mapping[str, Any], key: str | None) -> int | None:
        lines, keys = self._index()
        begin, end = 0, len(lines)
        column = self._first_key_column(begin, end)
        if column is None:
            return None
        for step in path:
            if isinstance(step, str):
                found = self._find_key(begin, end, column, step)
                if found is None:
                    return None
                begin, end = found + 1, self._block_end(found + 1, end, column)
                child = self._first_content(begin, end)
                if child is None:
                    return None
                if self._dash[child]:
                    column = self._indent[child]
                else:
                    column = self._column_of_key(child)
                    if column is None:
                        return None
            else:
                item = self._find_item(begin, end, column, step)
                if item is None:
                    return None
                begin, end = item
                entry = keys[begin]
                if entry is None:  # "-" alone on its line: the mapping starts below
                    next_line = self._first_content(begin + 1, end)
                    if next_line is None:
                        return None
                    column_found = self._column_of_key(next_line)
                    if column_found is None:
                        return None
                    column = column_found
                else:
                    column = entry[0]
        if key is None:
            first = self._find_first_key(begin, end, column)
            if first is None or next(iter(data), None) != keys[first][1]:  # type: ignore[index]
                return None
            return first
        found = self._find_key(begin, end, column, key)
        if found is None:
            return None
        value = data.get(key)
        if not isinstance(value, str) or not _shows_value(lines[found], key, value):
            return None
        return found

    def _first_key_column(self, begin: int, end: int) -> int | None:
        first = self._first_content(begin, end)
        return None if first is None else self._column_of_key(first)

    def _column_of_key(self, line: int) -> int | None:
        assert self._keys is not None
        entry = self._keys[line]
        return None if entry is None else entry[0]

    def _first_content(self, begin: int, end: int) -> int | None:
        indent = self._indent
        for index in range(begin, end):
            if indent[index] >= 0:
                return index
        return None

    def _block_end(self, begin: int, end: int, column: int) -> int:
        """Where the value of a key at `column` ends: the next line indented at most as
        much, except a compact sequence item (`- `) at the same column."""
        indent, dash = self._indent, self._dash
        for index in range(begin, end):
            level = indent[index]
            if 0 <= level < column or (level == column and not dash[index]):
                return index
        return end

    def _find_key(self, begin: int, end: int, column: int, key: str) -> int | None:
        keys, indent, dash = self._keys, self._indent, self._dash
        found: int | None = None
        for index in range(begin, end):
            entry = keys[index]
            if entry is not None:
                if entry[0] == column and entry[1] == key:
                    if found is not None:
                        return None  # twice: not for the text locator
                    found = index
            elif 0 <= indent[index] <= column and not dash[index]:
                return None  # a line at this level that is no plain key (quoted key, flow, scalar): unsure
        return found

    def _find_first_key(self, begin: int, end: int, column: int) -> int | None:
        keys = self._keys
        for index in range(begin, end):
            entry = keys[index]
            if entry is not None and entry[0] == column:
                return index
        return None

    def _find_item(self, begin: int, end: int, column: int, position: int) -> tuple[int, int] | None:
        indent, dash = self._indent, self._dash
        starts = []
        for index in range(begin, end):
            level = indent[index]
            if level < 0:
                continue
            if level == column and dash[index]:
                starts.append(index)
            elif level <= column:
                break
        if position >= len(starts):
            return None
        stop = (
            starts[position + 1]
            if position + 1 < len(starts)
            else self._block_end(starts[position] + 1, end, column)
        )
        return starts[position], stop


def _single_line_scalar(rest: str) -> str | None:
    """The scalar written after `key:` on one line (plain or quoted, maybe with a comment);
    None when the value is not one plain line (empty: on the next lines; a block scalar,
    flow collection, anchor, alias or tag; an escaped or unterminated quote)."""
    if not rest.startswith(" "):
        return None
    text = rest.strip()
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    if not text or text[0] in "|>{[&*!#":
        return None
    if text[0] in "\"'":
        if len(text) < 2 or text[-1] != text[0] or "\\" in text or text.count(text[0]) != 2:
            return None
        return text[1:-1]
    return text


def _shows_value(text: str, key: str, value: str) -> bool:
    """Whether `key: value` is written plainly on this line (the value on the key's line)."""
    after = text.split(f"{key}:", 1)[1].strip()
    if " #" in after:
        after = after.split(" #", 1)[0].rstrip()
    if len(after) >= 2 and after[0] == after[-1] and after[0] in "\"'":
        after = after[1:-1]
    return after == value


class FastMap(Mapping[str, Any]):
    """A parsed mapping that knows where it is, for the lines reports print."""

    __slots__ = ("_built", "_data", "_lines", "_path")

    def __init__(self, data: dict[str, Any], lines: LineSource, path: tuple[Any, ...]) -> None:
        self._data = data
        self._lines = lines
        self._path = path
        self._built: dict[str, Any] = {}  # children as given out: read twice, built once

    def __getitem__(self, key: str) -> Any:
        built = self._built
        if key in built:
            return built[key]
        value = built[key] = _wrap(self._data[key], self._lines, (*self._path, key))
        return value

    def get(self, key: str, default: Any = None) -> Any:  # the inventory's most frequent call: inlined
        built = self._built
        if key in built:
            return built[key]
        data = self._data
        if key not in data:
            return default
        value = data[key]
        if type(value) is str and value in _PLAIN_SEEN:
            built[key] = value  # the common case: a string already found to read the same in YAML 1.1
            return value
        value = built[key] = _wrap(value, self._lines, (*self._path, key))
        return value

    def items(self) -> Any:
        return [(key, self[key]) for key in self._data]

    def values(self) -> Any:
        return [self[key] for key in self._data]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def line(self) -> int:
        return self._lines.mapping_line(self._path, self._data)

    @property
    def image_line(self) -> int:
        for key in ("image", "reference"):
            if key in self._data:
                return self._lines.key_line(self._path, self._data, key)
        return 0


# Short strings already found to read the same in YAML 1.1 (`_wrap`): a set lookup instead of
# the pattern for the field values that repeat (`IfNotPresent`, `TCP`, secret names, ...).
_PLAIN_SEEN: set[str] = set()
_PLAIN_SEEN_LIMIT = 50_000


def _wrap(value: Any, lines: LineSource, path: tuple[Any, ...]) -> Any:
    """A value as the reference reader would give it: mappings located, scalars checked."""
    if type(value) is str:
        if value in _PLAIN_SEEN:
            return value
        if _YAML11_AMBIGUOUS.fullmatch(value):
            return lines.reference_value(path, value)
        if len(value) < 64 and len(_PLAIN_SEEN) < _PLAIN_SEEN_LIMIT:
            _PLAIN_SEEN.add(value)
        return value
    if type(value) is dict:
        return FastMap(value, lines, path)
    if type(value) is list:
        return [_wrap(item, lines, (*path, index)) for index, item in enumerate(value)]
    if value is None or type(value) is bool:
        return value
    return lines.reference_value(path, value)  # a number: YAML 1.1 may read its text otherwise
