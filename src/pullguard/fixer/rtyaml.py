"""One YAML file as kubectl splits it, with documents edited in place by ruamel.yaml's round trip.

The file is cut on lines that start with ``---`` (kubectl's rule, and the scan's
document numbers); only a document that an edit touches is loaded and dumped
again, so every other byte of the file stays as it was. The sequence indentation
of the edited document (``- `` under its key, or indented by two) is detected and
kept, and so are its line endings: a document with CRLFs is loaded without them
and dumped with them (ruamel.yaml writes LF).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pullguard.errors import InputError
from pullguard.fixer.textfile import UTF8, Encoding

__all__ = ["YamlFile"]

_SEPARATOR = re.compile(r"^---(.*)$", re.MULTILINE)
_NON_BLANK = re.compile(r"\S")
_INDENTED_SEQUENCE = re.compile(r"^( *)[^\s#-][^:\n]*:[ \t]*\r?\n\1( +)- ", re.MULTILINE)


@dataclass(slots=True)
class _Chunk:
    text: str
    number: int | None  # the document number (1-based), None for separators and blank chunks
    data: Any = None
    changed: bool = False


@dataclass(slots=True)
class YamlFile:
    path: str
    original: str
    encoding: Encoding = UTF8  # of the file's bytes: the fixed text is written in it
    chunks: list[_Chunk] = field(default_factory=list)

    @classmethod
    def parse(cls, path: str, text: str, encoding: Encoding = UTF8) -> YamlFile:
        yaml_file = cls(path, text, encoding)
        number, start = 0, 0
        for match in _SEPARATOR.finditer(text):
            number = yaml_file._add(text[start : match.start()], number)
            yaml_file.chunks.append(_Chunk(text[match.start() : match.end() + 1], None))
            start = match.end() + 1
        yaml_file._add(text[start:], number)
        return yaml_file

    def _add(self, text: str, number: int) -> int:
        """Append a chunk between separators; returns the number of documents so far."""
        if not text:
            return number
        if _NON_BLANK.search(text):
            number += 1
            self.chunks.append(_Chunk(text, number))
        else:
            self.chunks.append(_Chunk(text, None))
        return number

    def document(self, number: int) -> Any:
        """The round-trip data of document ``number`` (loaded on first use); edit it in place."""
        chunk = next((c for c in self.chunks if c.number == number), None)
        if chunk is None:
            raise InputError(f"{self.path}: no document {number}")
        if chunk.data is None:
            text = _lf(chunk.text)
            try:
                chunk.data = _yaml(text).load(text)
            except YAMLError as error:
                raise InputError(
                    f"{self.path}: document {number} cannot be read for fixing: {type(error).__name__}"
                ) from None
        return chunk.data

    def touch(self, number: int) -> None:
        for chunk in self.chunks:
            if chunk.number == number:
                chunk.changed = True

    def render(self) -> str:
        parts = []
        for chunk in self.chunks:
            if not chunk.changed:
                parts.append(chunk.text)
                continue
            original = _lf(chunk.text)
            buffer = io.StringIO()
            _yaml(original).dump(chunk.data, buffer)
            text = buffer.getvalue()
            leading = original[: len(original) - len(original.lstrip("\n"))]
            text = leading + (text if original.endswith("\n") else text.rstrip("\n"))
            parts.append(text.replace("\n", "\r\n") if "\r\n" in chunk.text else text)
        return "".join(parts)


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n") if "\r" in text else text


def _yaml(sample: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines
    match = _INDENTED_SEQUENCE.search(sample)
    if match is not None:
        offset = len(match.group(2))  # the dash, this far right of its key
        yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    else:
        yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml
