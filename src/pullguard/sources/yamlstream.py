"""A big `kind: List` YAML document, composed one item at a time.

libyaml composes a whole document before anything reads it: for a List of a million
small items that is ~60 times the document's size in node objects, all alive at
once, and every full garbage collection walks them (time grows faster than the
size). Here the parser's events are composed item by item, as PyYAML's Composer
does (anchors, aliases, tag resolution), so memory holds one item and what the
inventory keeps, and time grows linearly.

Only documents over `STREAM_THRESHOLD` whose top level says `kind: …List` (one
column-0 `kind:` line) take this path; anything unexpected in the top-level shape
falls back to the ordinary reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STREAM_THRESHOLD = 1024 * 1024
_KIND_LINE = re.compile(r"""^kind:[ \t]*["']?([A-Za-z0-9]*List)["']?[ \t]*(?:#.*)?$""", re.MULTILINE)
_MAP_TAG = "tag:yaml.org,2002:map"


class EventSource(Protocol):
    def get_event(self) -> Any: ...
    def peek_event(self) -> Any: ...
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any: ...


def looks_like_big_list(chunk: str) -> bool:
    return len(chunk) > STREAM_THRESHOLD and len(_KIND_LINE.findall(chunk)) == 1


@dataclass(slots=True)
class ListStream:
    """The top level of a List document: its fields as they come (`fields`, without `items`),
    the items one by one from `items()`."""

    loader: EventSource
    fields: list[tuple[Node, Node]] = field(default_factory=list)
    anchors: dict[str, Node] = field(default_factory=dict)
    start: Any = None  # the top mapping's start mark

    @classmethod
    def open(cls, loader: EventSource) -> ListStream | None:
        """Past the stream, document and top-mapping starts; None when the top level is no plain
        block mapping (the caller then reads the document the ordinary way)."""
        if type(loader.get_event()) is not StreamStartEvent:
            return None
        if type(loader.get_event()) is not DocumentStartEvent:
            return None
        top = loader.get_event()
        if type(top) is not MappingStartEvent or top.anchor is not None or top.tag not in (None, "!"):
            return None
        return cls(loader, start=top.start_mark)

    def items(self) -> Iterator[Node]:
        """Each item of every top-level `items` sequence, as a node. Other fields (and an `items`
        that is no sequence) are composed into `fields`; read them once the items are done."""
        loader = self.loader
        while type(loader.peek_event()) is not MappingEndEvent:
            key = self.compose()
            event: Any = loader.peek_event()
            if isinstance(key, ScalarNode) and key.value == "items" and type(event) is SequenceStartEvent:
                loader.get_event()
                mark: Any = event.start_mark
                placeholder = SequenceNode("tag:yaml.org,2002:seq", [], mark, mark)
                if event.anchor is not None:
                    self.anchors[event.anchor] = placeholder
                self.fields.append((key, placeholder))
                while type(loader.peek_event()) is not SequenceEndEvent:
                    yield self.compose()
                loader.get_event()
            else:
                self.fields.append((key, self.compose()))
        loader.get_event()  # the top mapping's end
        if type(loader.get_event()) is not DocumentEndEvent or type(loader.get_event()) is not StreamEndEvent:
            raise yaml.composer.ComposerError(None, None, "expected a single document in the stream", None)

    def root(self) -> MappingNode:
        """The top mapping with the fields read (each `items` sequence empty: its items were streamed)."""
        return MappingNode(_MAP_TAG, self.fields, self.start, self.start)

    def compose(self) -> Node:
        """The next node, as PyYAML's Composer.compose_node builds it (recursion per nesting level)."""
        return self._node(self.loader.get_event())

    def _node(self, event: Any) -> Node:
        kind = type(event)
        if kind is ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
            node: Node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            if event.anchor is not None:
                self.anchors[event.anchor] = node
            return node
        if kind is AliasEvent:
            found = self.anchors.get(event.anchor)
            if found is None:
                # never the alias's name: `*` and any text, maybe a credential
                raise yaml.composer.ComposerError(None, None, "found undefined alias", event.start_mark)
            return found
        get_event = self.loader.get_event
        if kind is MappingStartEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.loader.resolve(MappingNode, None, event.implicit)
            pairs: list[tuple[Node, Node]] = []
            node = MappingNode(tag, pairs, event.start_mark, None, flow_style=event.flow_style)
            if event.anchor is not None:
                self.anchors[event.anchor] = node
            while True:
                following = get_event()
                if type(following) is MappingEndEvent:
                    node.end_mark = following.end_mark
                    return node
                key = self._node(following)
                pairs.append((key, self._node(get_event())))
        if kind is SequenceStartEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.loader.resolve(SequenceNode, None, event.implicit)
            items: list[Node] = []
            node = SequenceNode(tag, items, event.start_mark, None, flow_style=event.flow_style)
            if event.anchor is not None:
                self.anchors[event.anchor] = node
            while True:
                following = get_event()
                if type(following) is SequenceEndEvent:
                    node.end_mark = following.end_mark
                    return node
                items.append(self._node(following))
        raise yaml.composer.ComposerError(None, None, f"unexpected {kind.__name__}", event.start_mark)
