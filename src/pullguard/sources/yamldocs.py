"""Turning the text of one manifest file into Kubernetes objects, the way kubectl reads it.

Why this is more than `yaml.load_all`:
- kubectl splits a stream on lines that start with `---`; we split the same way
  and parse each document on its own, so one broken document never hides the
  others and document numbers match what kubectl reports;
- libyaml *composes* a document (C, fast) and PyYAML *constructs* Python objects
  from it (pure Python, ~40% of a parse). We construct only objects whose kind
  needs analysis; a 700 KB CustomResourceDefinition is composed, identified and
  dropped. That is why a scan can be cheaper than a bare parse;
- mappings remember their line, and duplicate keys (which kubectl's strict
  decoding refuses) are reported instead of silently merged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pullguard.errors import DocumentValueError
from pullguard.semantics.templates import TEMPLATE_MARKER, has_template_marker
from pullguard.sources import fastyaml
from pullguard.sources.model import InputProblem, Level, Location, Manifest, ReadStats, SkipReason
from pullguard.sources.yamlstream import ListStream, looks_like_big_list

ShouldBuild = Callable[[str, str], bool]
"""(apiVersion, kind) -> whether the inventory needs the object's body."""

_STR_TAG = "tag:yaml.org,2002:str"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_VALUE_TAG = "tag:yaml.org,2002:value"
# kubectl reads YAML with go-yaml v2 (sigs.k8s.io/yaml/goyaml.v2, resolve.go). Where its plain
# scalars differ from PyYAML's YAML 1.1 resolver, the reference reader reads them as kubectl does:
# the one-letter booleans; integers with a Go prefix (strconv.ParseInt, base 0: 0o17, 0X1F); its
# float syntax, which needs no dot and no exponent sign (1e3, 08); no base-60 numbers (1:30) and
# no `=` value key (strings).
_ONE_LETTER_BOOLS = {"y": True, "Y": True, "n": False, "N": False}
_GO_PREFIXED_INT = re.compile(r"[-+]?0(?:[oO][0-7]+|[bB][01]+|[xX][0-9a-fA-F]+)")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def _reader_problem(error: yaml.reader.ReaderError) -> str:
    """What libyaml's reader refuses, named (its position gives the line)."""
    character = error.character
    code = character if isinstance(character, int) else ord(character) if character else 0
    name = "a NUL character (U+0000)" if code == 0 else f"the character U+{code:04X}"
    return f"invalid YAML: {name} is not allowed (YAML allows no control characters; kubectl refuses the document too)"


def _kubectl_tag(text: str, tag: str) -> str:
    """The tag go-yaml v2 gives the plain scalar `text`, where PyYAML's resolver gave `tag`."""
    if text in _ONE_LETTER_BOOLS:
        return _BOOL_TAG
    if tag == _STR_TAG:
        if not text or text[0] not in "+-.0123456789":
            return tag  # neither of Go's number forms can start otherwise
        plain = text.replace("_", "")
        if _GO_PREFIXED_INT.fullmatch(plain):
            return _INT_TAG
        if _GO_FLOAT.fullmatch(plain):
            return _FLOAT_TAG
    elif tag == _VALUE_TAG or (tag in (_INT_TAG, _FLOAT_TAG) and ":" in text):
        return _STR_TAG
    return tag


_SEPARATOR = re.compile(r"^---(.*)$", re.MULTILINE)
_NON_BLANK = re.compile(r"\S")
_TEMPLATE_MARKER = TEMPLATE_MARKER
_JSON_WS = re.compile(r"[ \t\n\r]*")
_SECRETISH_KINDS = frozenset({"Secret", "SealedSecret", "ExternalSecret", "ClusterExternalSecret"})
_LIST_KIND = re.compile(r"""^kind:[ \t]*["']?([A-Za-z0-9]*List)["']?[ \t]*(?:#.*)?$""", re.MULTILINE)
_TOP_API_VERSION = re.compile(r"""^apiVersion:[ \t]*["']?([^\s"'#]+)["']?[ \t]*(?:#.*)?$""", re.MULTILINE)


_MERGE_TAG = "tag:yaml.org,2002:merge"
# Scalars are built by PyYAML's own safe constructors (ints, bools, nulls, timestamps…).
_SCALARS = yaml.constructor.SafeConstructor()


class LineMap(Mapping[Any, Any]):
    """A read-only mapping over a composed YAML node, built only as far as it is read.

    libyaml composes a document in C; building every Python object from it is
    the slow part of PyYAML. The inventory reads a few dozen fields of a
    workload, so children are built on access. Keys are the key nodes' text, the
    last of duplicate keys wins (as in a plain load; duplicates are reported by
    the reader). `line` is the mapping's 1-based line in the file, `image_line`
    the line of its `image` or `reference` value.
    """

    __slots__ = ("_index", "_memo", "_node", "_offset")

    def __init__(self, node: MappingNode, offset: int, memo: dict[int, Any] | None = None) -> None:
        self._node = node
        self._offset = offset
        self._index: dict[str, Node] | None = None
        self._memo: dict[int, Any] = {id(node): self} if memo is None else memo

    def release(self) -> None:
        """Forget the built children. The memo holds this mapping, a reference cycle that only
        the garbage collector would break; the reader releases each body once it is consumed,
        which keeps the collector idle (it cost more than half the scan time)."""
        self._memo.clear()

    def _fields(self) -> dict[str, Node]:
        if self._index is None:
            pairs = self._node.value
            if any(key.tag == _MERGE_TAG for key, _ in pairs):
                try:
                    flatten_merges(self._node)  # YAML merge keys (`<<`)
                except yaml.YAMLError:
                    raise DocumentValueError(
                        self.line, "a merge key '<<' must merge a mapping or a list of mappings", "<<"
                    ) from None
                pairs = self._node.value
            self._index = {key.value: value for key, value in pairs if isinstance(key, ScalarNode)}
        return self._index

    def __getitem__(self, key: Any) -> Any:
        return self._build(key, self._fields()[key])

    def get(self, key: Any, default: Any = None) -> Any:
        node = self._fields().get(key)
        return default if node is None else self._build(key, node)

    def _build(self, key: str, node: Node) -> Any:
        try:
            return build_node(node, self._offset, self._memo)
        except DocumentValueError as error:
            if error.field is None:  # name the innermost key
                raise DocumentValueError(error.line, error.reason, key) from None
            raise

    def __contains__(self, key: object) -> bool:
        return key in self._fields()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())

    @property
    def line(self) -> int:
        return self._node.start_mark.line + self._offset

    @property
    def image_line(self) -> int:
        fields = self._fields()
        node = fields.get("image") or fields.get("reference")
        return node.start_mark.line + self._offset if node is not None else 0


def build_node(node: Node, offset: int, memo: dict[int, Any] | None = None) -> Any:
    """A node as Python data: scalars built, mappings as lazy LineMaps, sequences as lists.

    A collection node is built once per document (`memo`, by node id): aliases share
    one object, as in a plain load, so walks that skip objects already seen stay
    bounded on "billion laughs" documents, and recursive aliases (`&a [*a]`) end.
    """
    if isinstance(node, ScalarNode):
        if node.tag == _STR_TAG:
            return node.value
        return _build_scalar(node, offset)
    memo = {} if memo is None else memo
    built = memo.get(id(node))
    if built is not None:
        return built
    if isinstance(node, MappingNode):
        built = memo[id(node)] = LineMap(node, offset, memo)
        return built
    items: list[Any] = []
    memo[id(node)] = items
    items.extend(build_node(item, offset, memo) for item in node.value)
    return items


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _build_scalar(node: ScalarNode, offset: int) -> Any:
    """A scalar with PyYAML's safe constructors. One that cannot be built raises DocumentValueError
    (never quoting the value), except a plain timestamp-shaped text that is no real date
    (`2024-02-30`): it stays a string, as in Go YAML, which kubectl uses (yaml.v2 resolve:
    a plain scalar is a timestamp only when it parses as one)."""
    line = node.start_mark.line + offset
    if node.tag == _BOOL_TAG and node.value in _ONE_LETTER_BOOLS:
        return _ONE_LETTER_BOOLS[node.value]
    if node.tag == _INT_TAG and _GO_PREFIXED_INT.fullmatch(node.value.replace("_", "")):
        return int(node.value.replace("_", ""), 0)
    constructor = _SCALARS.yaml_constructors.get(node.tag)
    if constructor is None:
        # never the tag's text: `!eyJhdXRocyI6…` is a credential with a `!` before it
        raise DocumentValueError(
            line,
            "an unknown YAML tag (the value starts with '!'): pullguard builds no such value "
            "(quote the value if it is text)",
        )
    try:
        return constructor(_SCALARS, node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        if node.tag == _TIMESTAMP_TAG and not node.style:  # plain: None (PyYAML) or "" (libyaml)
            return node.value
        raise DocumentValueError(line, f"the value cannot be read as {_tag_name(node.tag)}") from None


def _tag_name(tag: str) -> str:
    """A known tag, as written (`!!int`): only tags with a constructor reach here, never user text."""
    return (
        "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else "its tag"
    )


def line_of(mapping: object, default: int) -> int:
    """The line a mapping starts on, or `default` when it was not read from YAML."""
    return mapping.line if isinstance(mapping, LineMap | fastyaml.FastMap) else default


def image_line_of(mapping: object, default: int) -> int:
    if isinstance(mapping, LineMap | fastyaml.FastMap):
        return mapping.image_line or mapping.line
    return default


# The last document composed for the fast reader, as (text, root node): a document whose
# numbers a walk reads one by one is composed once, not once per value.
_COMPOSED: list[Any] = [None, None]


def _compose(chunk: str) -> Node | None:
    if _COMPOSED[0] is chunk:
        return cast("Node | None", _COMPOSED[1])
    loader = _Loader(chunk)
    loader.duplicates = []
    try:
        try:
            node: Node | None = loader.get_single_node()
        except yaml.YAMLError as error:  # text the fast reader took and libyaml refuses
            problem = getattr(error, "problem", None) or type(error).__name__
            raise DocumentValueError(0, f"the YAML reader refuses the document ({problem})") from None
    finally:
        loader.dispose()
    _COMPOSED[:] = [chunk, node]
    return node


def _node_at(chunk: str, path: tuple[Any, ...], read: Callable[[Node | None], Any]) -> Any:
    """Compose one document with the reference reader and hand `read` the node at `path`
    (None when the path leads nowhere): what the fast reader asks when it cannot be sure."""
    node = _compose(chunk)
    for step in path:
        if isinstance(node, MappingNode):
            node = _field_node(node, step)
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            node = None
        if node is None:
            break
    return read(node)


def _reference_value(chunk: str, path: tuple[Any, ...]) -> Any:
    """The value the reference reader builds at `path` in one document."""
    return _node_at(chunk, path, lambda node: None if node is None else _plain(build_node(node, 0)))


_RESOLVER = yaml.resolver.Resolver()


def _plain_scalar(text: str, line: int) -> Any:
    """A plain scalar written `text` on the document's 0-based `line`, as the reference reader
    builds it: the tag its resolver gives the text, then PyYAML's safe constructor (what
    `_reference_value` gives for that scalar, without composing the document)."""
    tag = _kubectl_tag(text, _RESOLVER.resolve(ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]
    if tag == _STR_TAG:
        return text
    mark = yaml.Mark("", 0, line, 0, "", 0)
    return _build_scalar(ScalarNode(tag, text, mark, mark), 0)


def _plain(value: Any) -> Any:
    if isinstance(value, LineMap):
        return {key: _plain(value[key]) for key in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _reference_line(chunk: str, offset: int, path: tuple[Any, ...], key: str | None) -> int:
    """The line the reference reader gives a mapping (or its `key`'s value) at `path` in one
    document: what the fast reader asks when the text does not show it plainly."""

    def line(node: Node | None) -> int:
        if key is not None and isinstance(node, MappingNode):
            node = _field_node(node, key)
        return offset if node is None else node.start_mark.line + offset

    try:
        return int(_node_at(chunk, path, line))
    except yaml.YAMLError:
        return offset


_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_LIMIT = 200_000


class _Loader(yaml.CSafeLoader):
    """libyaml's safe loader, composing only; duplicate keys are collected per document.

    libyaml calls back into Python to resolve the tag of every scalar. A plain
    scalar's tag depends on its text alone (we register no path resolvers), so
    short texts are resolved once per process: the same answer, ~13% less
    composing time on typical manifests.
    """

    line_offset: int = 0
    duplicates: list[tuple[MappingNode, Node]]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = _kubectl_tag(value, super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
                if len(value) < 64 and len(_PLAIN_TAGS) < _PLAIN_TAGS_LIMIT:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    # Path resolvers are the only users of these hooks, and none is registered.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM or not) and UTF-16/32 with a BOM, CRLF folded to LF.

    Raises UnicodeDecodeError (with its position) for anything else.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    elif data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        text = data.decode("utf-32")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        text = data.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text


class DocumentReader:
    """Reads the documents of one file into manifests, problems and counts."""

    def __init__(
        self,
        should_build: ShouldBuild,
        stats: ReadStats,
        problems: list[InputProblem],
        *,
        fast: bool | None = None,
    ) -> None:
        self._should_build = should_build
        self._stats = stats
        self._problems = problems
        # the fast reader for plain documents (sources/fastyaml.py); PULLGUARD_READER=reference turns it off
        self._fast = fastyaml.AVAILABLE and (
            fast if fast is not None else os.environ.get("PULLGUARD_READER", "fast") != "reference"
        )

    # -- entry point -------------------------------------------------------

    def read_text(self, path: str, text: str) -> Iterator[Manifest]:
        first = _NON_BLANK.search(text)
        if first is None:
            return
        if text[first.start()] in "{[":
            json_manifests = self._read_json_stream(path, text, first.start())
            if json_manifests is not None:
                yield from json_manifests
                return
        yield from self._read_yaml_stream(path, text)

    # -- YAML --------------------------------------------------------------

    def _read_yaml_stream(self, path: str, text: str) -> Iterator[Manifest]:
        number = 0
        start, start_line = 0, 1
        separator_trailer = ""
        for match in _SEPARATOR.finditer(text):
            chunk = text[start : match.start()]
            if _NON_BLANK.search(chunk):
                number += 1
                yield from self._read_yaml_document(path, number, start_line, chunk, separator_trailer)
            separator_trailer = match.group(1)
            start_line += text.count("\n", start, match.end()) + 1
            start = match.end() + 1
        chunk = text[start:]
        if _NON_BLANK.search(chunk):
            number += 1
            yield from self._read_yaml_document(path, number, start_line, chunk, separator_trailer)

    def _read_yaml_document(
        self, path: str, number: int, start_line: int, chunk: str, separator_trailer: str
    ) -> Iterator[Manifest]:
        self._stats.documents += 1
        where = Location(path, number, start_line)
        trailer = separator_trailer.strip()
        if trailer and not trailer.startswith("#"):
            # kubectl: "invalid Yaml document separator"; it refuses the document.
            self._unreadable(
                where,
                "invalid-separator",
                # the text is not quoted: it may be part of a Secret
                "text after the '---' separator: kubectl accepts only a comment there",
            )
            return
        if looks_like_big_list(chunk):  # before the fast reader, which would build it whole
            streamed = self._read_big_list(where, chunk, start_line)
            if streamed is not None:
                yield from streamed
                return
        if self._fast:
            manifest = self._fast_manifest(path, number, start_line, chunk)
            if manifest is not None:
                self._stats.fast_documents += 1
                yield manifest
                return
        loader = _Loader(chunk)
        loader.line_offset = start_line
        loader.duplicates = []
        try:
            try:
                node = loader.get_single_node()
            except yaml.YAMLError as error:
                self._unparseable(where, chunk, error)
                return
            if node is None:
                self._stats.skipped[SkipReason.EMPTY] += 1
                return
            try:
                # A collection key (how `{{ .x }}: y` parses) makes any document unreadable.
                check_document(node, loader)
            except yaml.YAMLError as error:
                self._unparseable(where, chunk, error)
                return
            if not isinstance(node, MappingNode):
                self._stats.skipped[SkipReason.NOT_A_MAPPING] += 1
                return
            for manifest in self._manifests_from_node(loader, node, where):
                yield manifest
                if isinstance(manifest.body, LineMap):
                    manifest.body.release()
            self._report_duplicates(loader, where, node)
        finally:
            loader.dispose()

    def _fast_manifest(self, path: str, number: int, start_line: int, chunk: str) -> Manifest | None:
        """The common case through the fast reader (sources/fastyaml.py): one object, not a
        List, with a string apiVersion, kind and metadata; None for everything else."""
        value = fastyaml.parse(chunk)
        if value is None:
            return None
        api_version, kind, metadata = value.get("apiVersion"), value.get("kind"), value.get("metadata")
        if not (isinstance(api_version, str) and api_version and isinstance(kind, str) and kind):
            return None
        if kind.endswith("List") and "items" in value:
            return None
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            return None
        name, namespace, generate_name = (
            metadata.get("name"),
            metadata.get("namespace"),
            metadata.get("generateName"),
        )
        for v in (api_version, kind, name, namespace, generate_name):
            if v is not None and (not isinstance(v, str) or fastyaml.yaml11_ambiguous(v)):
                return None  # e.g. `name: no`, which YAML 1.1 reads as a boolean
        lines = fastyaml.LineSource(chunk, start_line, _reference_line, _reference_value, _plain_scalar)
        first_line = lines.mapping_line((), value)
        body = fastyaml.FastMap(value, lines, ()) if self._should_build(api_version, kind) else None
        self._stats.objects += 1
        self._stats.kinds[kind] += 1
        return Manifest(
            api_version,
            kind,
            name or _generated(generate_name),
            namespace or None,
            body,
            Location(path, number, first_line),
        )

    def _unparseable(self, where: Location, chunk: str, error: yaml.YAMLError) -> None:
        line = where.line
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            line = where.line + mark.line
        located = Location(where.path, where.document, line)
        if isinstance(error, MergeKeyError):
            self._unreadable(located, "yaml-value", f"{error.owner}{error.problem}")
            return
        if isinstance(error, yaml.reader.ReaderError):
            self._unreadable(
                Location(where.path, where.document, where.line + chunk.count("\n", 0, error.position)),
                "yaml-syntax",
                _reader_problem(error),
            )
            return
        if has_template_marker(chunk):
            self._unreadable(
                located,
                "template",
                "un-rendered template ({{ }}, {% %} or ${ }): render it first "
                "(`helm template CHART`, `kustomize build DIR`, or your substitution tool) and scan the output",
            )
            return
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        context = getattr(error, "context", None)
        detail = f"{context}, {problem}" if context else str(problem)
        self._unreadable(located, "yaml-syntax", f"invalid YAML: {detail}")

    def _manifests_from_node(self, loader: _Loader, node: MappingNode, where: Location) -> Iterator[Manifest]:
        fields = _scalar_fields(node)
        api_version, kind = fields.get("apiVersion"), fields.get("kind")
        if api_version is None and kind is None:
            loader.duplicates.clear()  # duplicate keys matter only in Kubernetes objects
            self._stats.skipped[SkipReason.NOT_KUBERNETES] += 1
            return
        items_node = _field_node(node, "items")
        if kind is not None and kind.endswith("List") and isinstance(items_node, SequenceNode | ScalarNode):
            self._stats.lists += 1
            if isinstance(items_node, ScalarNode) and items_node.tag != "tag:yaml.org,2002:null":
                self._unreadable(where, "wrong-type", f"{kind}: 'items' must be a list")
                return
            items = items_node.value if isinstance(items_node, SequenceNode) else []
            for index, item in enumerate(items):
                manifest = self._list_item(loader, where, kind, api_version, index, item)
                if manifest is not None:
                    yield manifest
            return
        manifest = self._identify(api_version, kind, node, loader, where, from_list=None)
        if manifest is not None:
            yield manifest

    def _list_item(
        self, loader: _Loader, where: Location, kind: str, api_version: str | None, index: int, item: Node
    ) -> Manifest | None:
        item_where = Location(where.path, where.document, item.start_mark.line + loader.line_offset, index)
        if not isinstance(item, MappingNode):
            self._unreadable(item_where, "wrong-type", f"{kind} item {index} is not a mapping")
            return None
        item_fields = _scalar_fields(item)
        item_kind = item_fields.get("kind") or (kind[:-4] if kind != "List" else None)
        item_api = item_fields.get("apiVersion") or (api_version if kind != "List" else None)
        return self._identify(item_api, item_kind, item, loader, item_where, from_list=kind)

    def _read_big_list(self, where: Location, chunk: str, start_line: int) -> Iterator[Manifest] | None:
        """A big List document item by item (see yamlstream); None when its top level is not a
        plain mapping, to be read the ordinary way."""
        loader = _Loader(chunk)
        loader.line_offset = start_line
        loader.duplicates = []
        try:
            stream = ListStream.open(loader)
        except yaml.YAMLError:
            stream = None
        if stream is None:
            loader.dispose()
            return None
        return self._stream_list(where, chunk, loader, stream)

    def _stream_list(
        self, where: Location, chunk: str, loader: _Loader, stream: ListStream
    ) -> Iterator[Manifest]:
        # The List's own kind and apiVersion: the one column-0 `kind:` line (kubectl writes `items`
        # before `kind`); checked against the fields actually read once the items are done.
        kind = _LIST_KIND.search(chunk).group(1)  # type: ignore[union-attr]
        api_match = _TOP_API_VERSION.findall(chunk)
        api_version = api_match[0] if len(api_match) == 1 else None
        self._stats.lists += 1
        secret_items = kind[:-4] in _SECRETISH_KINDS
        try:
            for index, item in enumerate(stream.items()):
                if isinstance(item, MappingNode):
                    try:
                        check_document(item, loader)
                    except yaml.YAMLError as error:
                        self._unparseable(replace(where, item=index), chunk, error)
                        continue
                    secret_items = secret_items or _scalar_fields_safe(item).get("kind") in _SECRETISH_KINDS
                manifest = self._list_item(loader, where, kind, api_version, index, item)
                if manifest is not None:
                    yield manifest
                    if isinstance(manifest.body, LineMap):
                        manifest.body.release()
            root = stream.root()
            check_document(root, loader)
            fields = _scalar_fields(root)
            if (fields.get("kind"), fields.get("apiVersion")) != (kind, api_version):
                self._unreadable(
                    where,
                    "wrong-type",
                    "a big List whose top-level kind and apiVersion are not plain `kind:` and `apiVersion:` "
                    "lines: its items were read as a "
                    f"{kind}; write them so (as kubectl does)",
                )
            self._report_duplicates(loader, where, root, secret=secret_items)
        except yaml.YAMLError as error:
            self._unparseable(where, chunk, error)
        except RecursionError:
            self._unreadable(
                where, "too-deep", f"{kind}: an item is nested too deeply to read; the rest is not read"
            )
        finally:
            loader.dispose()

    def _identify(
        self,
        api_version: str | None,
        kind: str | None,
        node: MappingNode,
        loader: _Loader,
        where: Location,
        from_list: str | None,
    ) -> Manifest | None:
        problem = _identity_problem(api_version, kind, node)
        if problem is not None:
            self._unreadable(where, "missing-kind", problem, from_list)
            return None
        assert api_version is not None and kind is not None
        identity = _metadata_scalars(node)
        wrong = _identity_type_problem(kind, identity)
        if wrong is not None:
            self._unreadable(where, "wrong-type", wrong, from_list)
            return None
        # every identity field is now a string or absent
        name = identity.get("name") or _generated(identity.get("generateName"))
        namespace = identity.get("namespace") or None
        body = LineMap(node, loader.line_offset) if self._should_build(api_version, kind) else None
        self._stats.objects += 1
        self._stats.kinds[kind] += 1
        # the object's own first line, not the comments that may open its document
        located = Location(where.path, where.document, node.start_mark.line + loader.line_offset, where.item)
        return Manifest(api_version, kind, name, namespace, body, located)

    def _report_duplicates(
        self, loader: _Loader, where: Location, root: MappingNode, secret: bool | None = None
    ) -> None:
        for mapping, key_node in sorted(loader.duplicates, key=lambda found: found[1].start_mark.line):
            key = key_node.value
            first_line = next(
                (k.start_mark.line for k, _ in mapping.value if isinstance(k, ScalarNode) and k.value == key),
                key_node.start_mark.line,
            )
            last_value = next(
                v for k, v in reversed(mapping.value) if isinstance(k, ScalarNode) and k.value == key
            )
            kind = _scalar_fields_safe(mapping).get("kind")
            shown = _describe_value(
                last_value,
                loader.line_offset,
                secret=kind in _SECRETISH_KINDS or (_inside_secret(root) if secret is None else secret),
            )
            self._problems.append(
                InputProblem(
                    Location(
                        where.path, where.document, key_node.start_mark.line + loader.line_offset, where.item
                    ),
                    Level.WARNING,
                    "duplicate-key",
                    f"duplicate key {key!r} (first at line {first_line + loader.line_offset}): kubectl's strict "
                    f"decoding refuses this document; pullguard, like lenient YAML readers, uses the last value"
                    f"{shown}",
                )
            )

    # -- JSON --------------------------------------------------------------

    def _read_json_stream(self, path: str, text: str, start: int) -> list[Manifest] | None:
        """Read a stream of JSON values (one object, a list, or one per line).

        Returns None when the first value is not JSON, so the file is read as YAML.
        """
        decoder = json.JSONDecoder()
        manifests: list[Manifest] = []
        position, number = start, 0
        while position < len(text):
            line = text.count("\n", 0, position) + 1
            try:
                value, end = decoder.raw_decode(text, position)
            except RecursionError:
                # Python's JSON reader recurses per level (kubectl's stops at 10,000 levels); where the
                # value ends is unknown, so the rest of the stream is not read either. A file not named
                # .json that opens so is read as YAML: its `---` documents after this one are read.
                if number == 0 and not path.endswith(".json"):
                    return None
                self._stats.documents += 1
                self._stats.json_documents += 1
                self._unreadable(
                    Location(path, number + 1, line),
                    "too-deep",
                    "JSON nested too deeply to read (hundreds of levels; Kubernetes objects have a few dozen)",
                )
                return manifests
            except json.JSONDecodeError as error:
                if number == 0 and not path.endswith(".json"):
                    return None
                self._stats.documents += 1
                self._stats.json_documents += 1
                bad_line = text.count("\n", 0, error.pos) + 1
                self._unreadable(
                    Location(path, number + 1, bad_line), "json-syntax", f"invalid JSON: {error.msg}"
                )
                return manifests
            except ValueError:
                # Python's limit on the digits of an integer (sys.get_int_max_str_digits, 4,300 by
                # default: converting longer ones takes quadratic time) stands: the value is read again
                # with integers kept as text, to find where it ends, and reported.
                skipped = _skip_big_integers(decoder, text, position)
                if skipped is None:
                    raise
                number += 1
                self._stats.documents += 1
                self._stats.json_documents += 1
                self._unreadable(*_big_integer_problem(path, number, text, position, skipped))
                position = _JSON_WS.match(text, skipped).end()  # type: ignore[union-attr]
                continue
            number += 1
            self._stats.documents += 1
            self._stats.json_documents += 1
            where = Location(path, number, line)
            lines = _json_item_lines(text, position, end) if _is_list(value) else None
            manifests.extend(self._manifests_from_value(value, where, lines))
            position = _JSON_WS.match(text, end).end()  # type: ignore[union-attr]
        return manifests

    def _manifests_from_value(
        self, value: Any, where: Location, item_lines: list[int] | None = None
    ) -> Iterator[Manifest]:
        if value is None:
            self._stats.skipped[SkipReason.EMPTY] += 1
            return
        if not isinstance(value, dict):
            self._stats.skipped[SkipReason.NOT_A_MAPPING] += 1
            return
        api_version, kind = value.get("apiVersion"), value.get("kind")
        if api_version is None and kind is None:
            self._stats.skipped[SkipReason.NOT_KUBERNETES] += 1
            return
        items = value.get("items", False)
        if (
            isinstance(kind, str)
            and kind.endswith("List")
            and items not in (False, None)
            and not isinstance(items, list)
        ):
            # as in YAML: a list kind whose items are not a list
            self._unreadable(where, "wrong-type", f"{kind}: 'items' must be a list")
            return
        if isinstance(kind, str) and kind.endswith("List") and (items is None or isinstance(items, list)):
            self._stats.lists += 1
            if item_lines is not None and len(item_lines) != len(items or ()):
                item_lines = None  # an item that is not an object: keep the document's line
            for index, item in enumerate(items or ()):
                line = item_lines[index] if item_lines is not None else where.line
                item_where = Location(where.path, where.document, line, index)
                if not isinstance(item, dict):
                    self._unreadable(item_where, "wrong-type", f"{kind} item {index} is not a mapping")
                    continue
                item_kind = item.get("kind") or (kind[:-4] if kind != "List" else None)
                item_api = item.get("apiVersion") or (api_version if kind != "List" else None)
                manifest = self._identify_value(item_api, item_kind, item, item_where, from_list=kind)
                if manifest is not None:
                    yield manifest
            return
        manifest = self._identify_value(api_version, kind, value, where, from_list=None)
        if manifest is not None:
            yield manifest

    def _identify_value(
        self, api_version: Any, kind: Any, value: dict[str, Any], where: Location, from_list: str | None
    ) -> Manifest | None:
        problem = _identity_problem_value(api_version, kind, value)
        if problem is not None:
            self._unreadable(where, "missing-kind", problem, from_list)
            return None
        metadata = value.get("metadata")
        if isinstance(metadata, dict):
            wrong = _identity_type_problem(
                kind, {field: metadata.get(field) for field in _IDENTITY_FIELDS}, from_json=True
            )
            if wrong is not None:
                self._unreadable(where, "wrong-type", wrong, from_list)
                return None
        name, namespace = "", None
        if isinstance(metadata, dict):
            name = _text(metadata.get("name")) or _generated(metadata.get("generateName"))
            namespace = _text(metadata.get("namespace")) or None
        body = value if self._should_build(api_version, kind) else None
        self._stats.objects += 1
        self._stats.kinds[kind] += 1
        return Manifest(api_version, kind, name, namespace, body, where)

    # -- shared ------------------------------------------------------------

    def _unreadable(self, where: Location, code: str, message: str, from_list: str | None = None) -> None:
        """An object that cannot be read; `from_list`, the List it is an item of, leads the message."""
        if from_list is not None:
            message = f"{from_list} item: {message}"
        self._stats.skipped[SkipReason.UNREADABLE] += 1
        self._problems.append(InputProblem(where, Level.ERROR, code, message))


def check_document(root: Node, loader: _Loader) -> None:
    """What building the whole document would find, without building it.

    Collection keys (unhashable: how `{{ .x }}: y` parses) raise as PyYAML's
    constructor does, as does a merge key onto what is no mapping (MergeKeyError);
    duplicate keys are recorded. Aliased nodes are visited once, so "billion
    laughs" documents stay cheap.
    """
    try:
        _check_nodes(root, loader)
    except MergeKeyError as error:
        if isinstance(root, MappingNode):
            error.owner = _owner(root)
        raise


def _owner(node: MappingNode) -> str:
    """The object's kind and name, to lead a message (`Pod web: `), as far as they are plain strings."""
    kind = _scalar_fields_safe(node).get("kind")
    if not kind or kind == "\0":
        return ""
    name = _metadata_scalars(node).get("name")
    return f"{kind} {name}: " if isinstance(name, str) and name else f"{kind}: "


def _check_nodes(root: Node, loader: _Loader) -> None:
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            pairs = node.value
            try:
                keys = {key.value for key, _ in pairs}
            except TypeError:  # a collection as a key: its value is a list
                key = next(key for key, _ in pairs if not isinstance(key, ScalarNode))
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key.start_mark
                ) from None
            if len(keys) != len(pairs):
                _record_duplicates(node, loader)
            if "<<" in keys:
                _check_merges(node)
            stack.extend(value for _, value in pairs if not isinstance(value, ScalarNode))
        elif isinstance(node, SequenceNode):
            stack.extend(item for item in node.value if not isinstance(item, ScalarNode))


class MergeKeyError(yaml.constructor.ConstructorError):
    """A merge key (`<<`) onto something else than a mapping or a list of mappings. go-yaml v2,
    which kubectl reads YAML with, refuses the document ("map merge requires map or sequence of
    maps as the value", decode.go), wherever the key stands; so does the reference reader,
    before any of the document is used. `owner`: "Kind name: " of the object, when known."""

    owner = ""


def _check_merges(node: MappingNode) -> None:
    for key, value in node.value:
        if key.tag != _MERGE_TAG:
            continue
        merged = value.value if isinstance(value, SequenceNode) else [value]
        for item in merged:
            if not isinstance(item, MappingNode):
                what = "a list" if isinstance(item, SequenceNode) else "a scalar"
                raise MergeKeyError(
                    None,
                    None,
                    f"field '<<': a merge key must merge a mapping or a list of mappings, not {what} "
                    "(kubectl refuses the document)",
                    key.start_mark,
                )


def _record_duplicates(node: MappingNode, loader: _Loader) -> None:
    keys: set[str] = set()
    for key, _ in node.value:
        if key.value in keys:
            loader.duplicates.append((node, key))
        keys.add(key.value)


def _scalar_fields(node: MappingNode) -> dict[str, str | None]:
    """apiVersion and kind of a mapping node: the string, None when absent or null."""
    found: dict[str, str | None] = {}
    for key, value in _merged(node).value:
        if isinstance(key, ScalarNode) and key.value in ("apiVersion", "kind"):
            if isinstance(value, ScalarNode) and value.tag == _STR_TAG:
                found[key.value] = value.value
            elif isinstance(value, ScalarNode) and value.tag == "tag:yaml.org,2002:null":
                found.pop(key.value, None)
            else:
                found[key.value] = "\0"  # present but not a string: reported by _identity_problem
    return found


def _scalar_fields_safe(node: MappingNode) -> dict[str, str | None]:
    try:
        return _scalar_fields(node)
    except Exception:
        return {}


def _merged(node: MappingNode) -> MappingNode:
    """The mapping with its merge keys (`<<`) applied, as the constructor applies them: merged keys
    first, the mapping's own after (so they win). In place, as LineMap does; a merge the document
    cannot make is reported where the document is read (`_check_merges`)."""
    if any(key.tag == _MERGE_TAG for key, _ in node.value):
        with contextlib.suppress(yaml.YAMLError):
            flatten_merges(node)
    return node


def flatten_merges(node: MappingNode) -> None:
    """Apply the mapping's merge keys in place, as the YAML merge key type says
    (https://yaml.org/type/merge.html) and go-yaml, kubectl's reader, does: the mapping's own
    keys override merged ones, and of a list of mappings the earlier override the later. After
    it, the last pair of a key is the one that counts (a lookup's usual rule)."""
    merged: list[tuple[Node, Node]] = []
    own: list[tuple[Node, Node]] = []
    for key, value in node.value:
        if key.tag != _MERGE_TAG:
            own.append((key, value))
            continue
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "a merge key must merge mappings",
                    key.start_mark,
                )
            flatten_merges(source)
            merged.extend(source.value)
    seen: set[str] = set()
    first: list[tuple[Node, Node]] = []
    for key, value in merged:
        if isinstance(key, ScalarNode):
            if key.value in seen:
                continue
            seen.add(key.value)
        first.append((key, value))
    node.value = first + own


def _field_node(node: MappingNode, name: str) -> Node | None:
    found: Node | None = None
    for key, value in _merged(node).value:
        if isinstance(key, ScalarNode) and key.value == name:
            found = value
    return found


_IDENTITY_FIELDS = ("name", "namespace", "generateName")


def _metadata_scalars(node: MappingNode) -> dict[str, Any]:
    """metadata's name, namespace and generateName as values of their kind (the text for a string,
    None for null, the node for anything else): enough to tell a string from what is not one."""
    metadata = _field_node(node, "metadata")
    found: dict[str, Any] = {}
    if isinstance(metadata, MappingNode):
        for key, value in _merged(metadata).value:
            if isinstance(key, ScalarNode) and key.value in _IDENTITY_FIELDS:
                if isinstance(value, ScalarNode) and value.tag == _STR_TAG:
                    found[key.value] = value.value
                elif isinstance(value, ScalarNode) and value.tag == "tag:yaml.org,2002:null":
                    found[key.value] = None
                else:
                    found[key.value] = value
    return found


def _identity_type_problem(kind: str, fields: Mapping[str, Any], *, from_json: bool = False) -> str | None:
    """An object whose name, namespace or generateName is not a string: the API server refuses it
    (a Go string field), so its name is unknown. The value is not quoted: it may be in a Secret.
    `fields` holds YAML nodes (the YAML reader) or JSON values (`from_json`)."""
    for field in _IDENTITY_FIELDS:
        value = fields.get(field)
        if value is not None and not isinstance(value, str):
            what, hint = _json_type(value) if from_json else _yaml_type(value)
            return f"{kind}: 'metadata.{field}' must be a string; here it is {what}{hint}"
    return None


def _yaml_type(node: Any) -> tuple[str, str]:
    """What a YAML node that is not a string is, and what to do about it."""
    if isinstance(node, SequenceNode):
        return "a list", ""
    if isinstance(node, MappingNode):
        return "a mapping", ""
    tag = getattr(node, "tag", None)
    text = str(getattr(node, "value", ""))
    if tag == _BOOL_TAG:
        return "a boolean (YAML reads y, n, yes, no, on, off, true, false so)", ": quote it"
    if tag == _FLOAT_TAG and text.lower().lstrip("+-") in (".nan", ".inf"):
        return "a special number (not-a-number or infinity)", ": quote it"
    if tag in (_INT_TAG, _FLOAT_TAG, _TIMESTAMP_TAG):
        return ("a date" if tag == _TIMESTAMP_TAG else "a number"), ": quote it"
    return "a value with a YAML tag ('!…'), which no Kubernetes field takes", ""


def _json_type(value: Any) -> tuple[str, str]:
    """What a JSON value that is not a string is, and what to do about it."""
    if isinstance(value, bool):
        return "a boolean", ": write it as a JSON string"
    if isinstance(value, float) and value != value:
        return "NaN (not a number), which is not JSON: kubectl refuses it", ""
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity, which is not JSON: kubectl refuses it", ""
    if isinstance(value, int | float):
        return "a number", ": write it as a JSON string"
    if isinstance(value, list):
        return "a list", ""
    if isinstance(value, dict):
        return "an object", ""
    return "not a string", ""


def _identity_problem(api_version: str | None, kind: str | None, node: MappingNode) -> str | None:
    if kind == "\0" or api_version == "\0":
        field = "kind" if kind == "\0" else "apiVersion"
        return f"'{field}' must be a string"
    problem = _identity_problem_value(api_version, kind, None)
    metadata = _field_node(node, "metadata")
    if (
        problem is None
        and metadata is not None
        and not isinstance(metadata, MappingNode)
        and not (isinstance(metadata, ScalarNode) and metadata.tag == "tag:yaml.org,2002:null")
    ):
        return f"{kind}: 'metadata' must be a mapping"
    return problem


def _identity_problem_value(api_version: Any, kind: Any, value: dict[str, Any] | None) -> str | None:
    if kind is None or kind == "":
        return "Object 'kind' is missing (kubectl refuses it)"
    if api_version is None or api_version == "":
        return f"{_text(kind) or 'object'}: 'apiVersion' is missing (kubectl refuses it)"
    if not isinstance(kind, str):
        return "'kind' must be a string"
    if not isinstance(api_version, str):
        return "'apiVersion' must be a string"
    if value is not None:
        metadata = value.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return f"{kind}: 'metadata' must be a mapping"
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _generated(generate_name: Any) -> str:
    return f"{generate_name}*" if isinstance(generate_name, str) and generate_name else ""


def _inside_secret(root: MappingNode) -> bool:
    """Whether the document is, or is a list holding, a Secret-like object: values are not shown."""
    kind = _scalar_fields_safe(root).get("kind") or ""
    if kind in _SECRETISH_KINDS or (kind.endswith("List") and kind[:-4] in _SECRETISH_KINDS):
        return True
    items = _field_node(root, "items")
    if isinstance(items, SequenceNode):
        return any(
            isinstance(item, MappingNode) and _scalar_fields_safe(item).get("kind") in _SECRETISH_KINDS
            for item in items.value
        )
    return False


def _describe_value(node: Node, offset: int, *, secret: bool) -> str:
    """Where the last value of a duplicate key is, for the warning (never the value itself);
    `offset` makes its line absolute."""
    if secret:
        return " (value not shown: it belongs to a Secret)"
    if isinstance(node, ScalarNode):
        # never quoted: a container env, a ConfigMap or a CRD can hold a registry password too
        return f" (at line {node.start_mark.line + offset}; value not shown)"
    if isinstance(node, MappingNode):
        return f": the mapping at line {node.start_mark.line + offset}"
    return f": the list at line {node.start_mark.line + offset}"


def _skip_big_integers(decoder: json.JSONDecoder, text: str, position: int) -> int | None:
    """Where the JSON value at `position` ends, read with every integer kept as its text (no
    conversion, so no digit limit); None when it is no valid JSON that way either."""
    reader = json.JSONDecoder(parse_int=str, parse_constant=decoder.parse_constant, strict=decoder.strict)
    try:
        return reader.raw_decode(text, position)[1]
    except (ValueError, RecursionError):
        return None


def _big_integer_problem(
    path: str, number: int, text: str, start: int, end: int
) -> tuple[Location, str, str]:
    """The problem of a JSON document with an integer longer than Python converts: its line and,
    when it is an object's field, the field's name (never the number: it may be in a Secret)."""
    limit = sys.get_int_max_str_digits()  # 4,300 unless PYTHONINTMAXSTRDIGITS says otherwise
    digits = "[0-9]{" + str(limit + 1) + "}"
    big = re.compile(r'(?:"((?:[^"\\]|\\.)*)"[ \t\n\r]*:[ \t\n\r]*)?-?' + digits)
    found = big.search(text, start, end)
    line = text.count("\n", 0, found.start() if found else start) + 1
    field = f"field {found.group(1)!r}: " if found and found.group(1) is not None else ""
    return (
        Location(path, number, line),
        "json-value",
        f"{field}an integer of more than {limit:,} digits, which pullguard does not convert (no Kubernetes "
        "field holds one: kubectl refuses it as out of range); the document is not analysed",
    )


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]\n]')


def _is_list(value: Any) -> bool:
    kind = value.get("kind") if isinstance(value, dict) else None
    return isinstance(kind, str) and kind.endswith("List") and isinstance(value.get("items"), list)


def _json_item_lines(text: str, start: int, end: int) -> list[int]:
    """The 1-based line of each object in the top-level "items" array of the JSON value text[start:end]
    (`kubectl get -o json` lists), so findings point at their item and not at line 1."""
    line = text.count("\n", 0, start) + 1
    depth, last_key, in_items = 0, "", False
    lines: list[int] = []
    for token in _JSON_TOKENS.finditer(text, start, end):
        char = token[0][0]
        if char == "\n":
            line += 1
        elif char == '"':
            if depth == 1:
                last_key = token[0]
        elif char in "{[":
            if in_items and depth == 2 and char == "{":
                lines.append(line)
            depth += 1
            if char == "[" and depth == 2 and last_key == '"items"':
                in_items = True
        else:
            depth -= 1
            if depth == 1:
                in_items = False
    return lines
