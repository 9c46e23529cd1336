"""A manifest file's text as `pullguard fix` reads it, and its bytes as fix writes them back.

The scan reads UTF-8 (with or without a byte-order mark) and UTF-16/32 with one
(``sources.yamldocs.decode_text``); fix reads the same files the same way and
writes an edited file back in its own encoding, byte-order mark included. Line
endings are not translated: a CRLF file keeps its CRLFs (``rtyaml`` dumps an
edited document with the line endings it had), so every byte that no edit
touches stays as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pullguard.errors import InputError
from pullguard.sources.files import MAX_FILE_BYTES, read_limited

__all__ = ["UTF8", "Encoding", "read_manifest"]

# the longest byte-order mark first: UTF-32LE's starts as UTF-16LE's does
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_NAMES = {"utf-8": "UTF-8", "utf-32-le": "UTF-32LE", "utf-32-be": "UTF-32BE", "utf-16-le": "UTF-16LE"}
_NAMES["utf-16-be"] = "UTF-16BE"


@dataclass(frozen=True, slots=True)
class Encoding:
    codec: str  # a Python codec that writes no byte-order mark of its own
    bom: bytes = b""

    @property
    def name(self) -> str:
        return _NAMES[self.codec] + (" with a byte-order mark" if self.bom else "")

    @property
    def patchable(self) -> bool:
        """Whether a diff of the text (printed as UTF-8) applies to the file's bytes."""
        return self.codec == "utf-8"

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.codec)

    def shown(self, text: str) -> str:
        """The text as a diff shows it: a UTF-8 file's byte-order mark kept, so the patch applies."""
        return "\ufeff" + text if self.bom and self.codec == "utf-8" else text


UTF8 = Encoding("utf-8")


def decode(data: bytes) -> tuple[str, Encoding]:
    """The text and encoding of a file's bytes; raises UnicodeDecodeError as the scan's reader does."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec), Encoding(codec, bom)
    return data.decode("utf-8"), UTF8


def read_manifest(path: str) -> tuple[str, Encoding]:
    """The text of the file at `path` (line endings as they are) and its encoding.

    Raises InputError naming the file when it cannot be read or decoded."""
    try:
        with open(path, "rb") as handle:
            data = read_limited(handle, MAX_FILE_BYTES, os.fstat(handle.fileno()).st_size)
    except OSError as error:
        raise InputError(f"cannot fix {path}: cannot read it: {error.strerror or error}") from None
    if data is None:
        raise InputError(f"cannot fix {path}: more than {MAX_FILE_BYTES} bytes")
    try:
        return decode(data)
    except UnicodeDecodeError as error:
        raise InputError(
            f"cannot fix {path}: not UTF-8 text (byte {error.start}), nor UTF-16/32 with a byte-order mark"
        ) from None
