"""A unified diff of a fixed file that never shows Secret data.

Every line that belongs to a value of a Secret's `data` or `stringData` (found by
composing each document with PyYAML: the key's first line to the value's last) is
replaced by one placeholder line per value: `<KEY: not shown>` for an old value, the
fix's own description (`auths key "a" -> "a:5000"; credential unchanged, not shown`)
for a value the fix rewrote. A line holding a known Secret value anywhere else (a
`last-applied-configuration` annotation quotes the whole Secret) is masked too.

An image reference whose text can hold a credential (`https://user:pass@reg.example/app:1`,
`reg.example/app:1?token=…`; see `text_safety.redact_image`) is shown redacted the same way.

A diff whose context would be masked is made without context (it still applies with
`git apply --unidiff-zero`); one whose changed lines are masked cannot be a patch:
`masked_changes` says so and the command tells to use --write.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pullguard.fixer.rtyaml import YamlFile
from pullguard.text_safety import redact_image

__all__ = ["MaskedDiff", "masked_diff"]


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True, slots=True)
class _Value:
    document: int
    key: str
    column: int
    shown: str = ""  # what the placeholder says instead of "KEY: value not shown"


def _walk(node: Node) -> Iterator[MappingNode]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            yield current
            stack += [v for _, v in current.value]
        elif isinstance(current, SequenceNode):
            stack += current.value


def _secret_values(node: Node) -> Iterator[tuple[ScalarNode | Node, Node]]:
    """(key node, value node) of each data/stringData entry of each Secret in the document."""
    for mapping in _walk(node):
        fields = {k.value: v for k, v in mapping.value if isinstance(k, ScalarNode)}
        kind = fields.get("kind")
        if not (isinstance(kind, ScalarNode) and kind.value == "Secret"):
            continue
        for section in ("data", "stringData"):
            values = fields.get(section)
            if isinstance(values, MappingNode):
                yield from values.value
            elif values is not None:  # not a mapping: hide it whole
                yield (values, values)
        # kubectl's last-applied-configuration annotation quotes the whole Secret, data included
        metadata = fields.get("metadata")
        if isinstance(metadata, MappingNode):
            for key, annotations in metadata.value:
                if getattr(key, "value", None) == "annotations" and isinstance(annotations, MappingNode):
                    yield from (
                        (k, v) for k, v in annotations.value if getattr(k, "value", None) == _LAST_APPLIED
                    )


def _credential_images(node: Node) -> Iterator[tuple[Node, ScalarNode]]:
    """(key node, value node) of each `image` (a container's) or `reference` (an image volume's)
    whose text can hold a credential: what `redact_image` changes."""
    for mapping in _walk(node):
        for key, value in mapping.value:
            if (
                getattr(key, "value", None) in ("image", "reference")
                and isinstance(value, ScalarNode)
                and redact_image(value.value) != value.value
            ):
                yield key, value


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present; the marks are the same


def secret_lines(text: str, values: set[str] | None = None) -> dict[int, _Value]:
    """0-based line number -> the Secret value it belongs to, for the whole file text; each value's
    text is added to `values` (to mask it wherever else it appears)."""
    lines: dict[int, _Value] = {}
    offset = 0
    for chunk in YamlFile.parse("", text).chunks:
        count = chunk.text.count("\n") + (0 if chunk.text.endswith("\n") else 1)
        if chunk.number is not None:
            try:
                root = yaml.compose(chunk.text, Loader=_LOADER)
            except yaml.YAMLError:
                root = None
                if "Secret" in chunk.text:  # unreadable and maybe a Secret: hide it all
                    for n in range(count):
                        lines[offset + n] = _Value(chunk.number, "document", 0)
            if root is not None:
                for key, value in _secret_values(root):
                    name = str(getattr(key, "value", "value"))
                    if values is not None and isinstance(value, ScalarNode):
                        values.update(
                            p.strip() for p in (value.value, *value.value.splitlines()) if len(p.strip()) >= 6
                        )
                    first = key.start_mark.line
                    end = value.end_mark
                    last = end.line if end.column > 0 else end.line - 1
                    for n in range(first, max(first, last) + 1):
                        lines[offset + n] = _Value(chunk.number, name, key.start_mark.column)
                for key, value in _credential_images(root):
                    if values is not None and len(value.value.strip()) >= 6:
                        values.add(value.value.strip())
                    shown = _Value(
                        chunk.number, "image", key.start_mark.column, f"image {redact_image(value.value)}"
                    )
                    end = value.end_mark
                    last = end.line if end.column > 0 else end.line - 1
                    for n in range(key.start_mark.line, max(key.start_mark.line, last) + 1):
                        lines.setdefault(offset + n, shown)
        offset += chunk.text.count("\n")
    return lines


@dataclass(frozen=True, slots=True)
class MaskedDiff:
    lines: list[str]
    zero_context: bool  # context lines would have shown Secret data: made without context
    masked_changes: bool  # a changed line is a Secret value: the diff is no patch


def masked_diff(
    shown: str,
    before: str,
    after: str,
    secrets: set[str],
    notes: dict[tuple[int, str], str],
) -> MaskedDiff:
    """The unified diff of `before` -> `after` (named `shown`), with every Secret value masked.

    `notes` maps (document, data key) of a value the fix rewrote to what it did."""
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    secrets = set(secrets)
    old_secret, new_secret = secret_lines(before, secrets), secret_lines(after, secrets)

    def hidden(line: str, number: int, table: dict[int, _Value]) -> bool:
        return number in table or any(value in line for value in secrets)

    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    groups = list(matcher.get_grouped_opcodes(3))
    zero = any(
        hidden(old_lines[i], i, old_secret)
        for group in groups
        for tag, i1, i2, _, _ in group
        if tag == "equal"
        for i in range(i1, i2)
    )
    if zero:
        groups = list(matcher.get_grouped_opcodes(0))
    out = [f"--- {_diff_path('a/' + shown)}\n", f"+++ {_diff_path('b/' + shown)}\n"]
    masked_changes = False
    for group in groups:
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += _masked(" ", old_lines, i1, i2, old_secret, secrets, {}, old=True)
                continue
            if tag in ("replace", "delete"):
                part = _masked("-", old_lines, i1, i2, old_secret, secrets, {}, old=True)
                masked_changes |= part != [f"-{line}" for line in old_lines[i1:i2]]
                out += part
            if tag in ("replace", "insert"):
                part = _masked("+", new_lines, j1, j2, new_secret, secrets, notes, old=False)
                masked_changes |= part != [f"+{line}" for line in new_lines[j1:j2]]
                out += part
    return MaskedDiff([line if line.endswith("\n") else line + "\n" for line in out], zero, masked_changes)


_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}


def _diff_path(path: str) -> str:
    """A path in a diff header as git writes it (quote_c_style): in double quotes with C escapes
    when it holds a control character, a quote or a backslash, so that a line break in a file
    name never starts a line of the diff; `git apply` reads it back."""
    if not any(ord(c) < 0x20 or c in '"\\\x7f' for c in path):
        return path
    out = []
    for char in path:
        if char in _C_ESCAPES:
            out.append(_C_ESCAPES[char])
        elif char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\{ord(char):03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _range(start: int, end: int) -> str:
    """A hunk range as `diff -u` writes it (1-based start; the line before for an empty range)."""
    length = end - start
    if length == 1:
        return f"{start + 1}"
    if length == 0:
        return f"{start},0"
    return f"{start + 1},{length}"


def _masked(
    prefix: str,
    lines: list[str],
    start: int,
    end: int,
    table: dict[int, _Value],
    secrets: set[str],
    notes: dict[tuple[int, str], str],
    *,
    old: bool,
) -> list[str]:
    out: list[str] = []
    previous: _Value | None = None
    for number in range(start, end):
        line = lines[number]
        value = table.get(number)
        if value is not None:
            if value != previous:  # one placeholder per value
                note = notes.get((value.document, value.key)) if not old else None
                text = note or value.shown or f"{value.key}: value not shown"
                out.append(f"{prefix}{' ' * value.column}<{text}>\n")
            previous = value
            continue
        previous = None
        if any(secret in line for secret in secrets):
            key = line.split(":", 1)[0]
            out.append(f"{prefix}{key}: <Secret data not shown>\n")
        else:
            out.append(prefix + line)
    return out
