"""Writing a report: rendered whole first, made safe, then written.

A report is rendered into memory before the output file is opened, so a report
that cannot be rendered never leaves an empty or half-written `-o` file. The
rendered text then passes `pullguard.text_safety`: control characters, lone
surrogates and bidirectional overrides that came from the input become visible
escapes, so every format can be encoded as UTF-8 and none can drive a terminal, and
the userinfo of any `scheme://user:pass@host` URL is replaced by `***`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TextIO

from pullguard.text_safety import neutralise, neutralise_rendered, redact_userinfo


class _Buffer(io.StringIO):
    """In-memory text that answers `isatty()` as the real destination does (colour, width)."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self._terminal = terminal

    def isatty(self) -> bool:
        return self._terminal


def render_safely(render: Callable[[TextIO], None], *, terminal: bool, styled: bool) -> str:
    """The report `render` writes, as safe text. `styled`: a rich terminal report, whose own
    styles are escape sequences (its data were neutralised on the way in, see report.console)."""
    buffer = _Buffer(terminal)
    render(buffer)
    text = redact_userinfo(buffer.getvalue())
    return neutralise_rendered(text) if styled else neutralise(text)


class _SafeParts(_Buffer):
    """The report made safe as it is written, a run of whole lines at a time, into a list of
    parts: no second and third copy of a report of hundreds of MB (the buffer, the text, the
    safe text). The same result as making the whole text safe: no userinfo match spans a
    line break and the escapes are per character."""

    def __init__(self, terminal: bool, styled: bool) -> None:
        super().__init__(terminal)
        self._safe = neutralise_rendered if styled else neutralise
        self._pending: list[str] = []
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        cut = text.rfind("\n") + 1
        if not cut:
            self._pending.append(text)
            return len(text)
        self._pending.append(text[:cut])
        self.flush_lines()
        if cut < len(text):
            self._pending.append(text[cut:])
        return len(text)

    def flush_lines(self) -> None:
        text = "".join(self._pending)
        self._pending.clear()
        if text:
            self.parts.append(self._safe(redact_userinfo(text)))


def render_safely_parts(render: Callable[[TextIO], None], *, terminal: bool, styled: bool) -> list[str]:
    """As `render_safely`, in parts to write one after the other (peak memory: one copy)."""
    buffer = _SafeParts(terminal, styled)
    render(buffer)
    buffer.flush_lines()
    return buffer.parts
