"""What every text report shares: the console (width, colour), word wrapping and plurals.

Colour follows https://no-color.org: `--color always` and `--color never` win; otherwise
colour only on a terminal and only when NO_COLOR is unset or empty. Width is COLUMNS when
set, else the terminal's; piped output with no COLUMNS is not wrapped at all (one long
line greps better than a cut one). Names, paths and images are never cut.
"""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING, TextIO

from pullguard.counts import plural as plural  # the reports import it from here

if TYPE_CHECKING:  # rich is imported when a report is printed, not at start-up
    from rich.console import Console

COLOR_MODES = ("auto", "always", "never")


def color_flag(mode: str | None) -> bool | None:
    """`--color auto|always|never` as the tri-state the renderers take (None: decide per output)."""
    return {"always": True, "never": False}.get(mode or "auto")


def wants_color(out: TextIO, color: bool | None) -> bool:
    if color is not None:
        return color
    if os.environ.get("NO_COLOR", ""):
        return False
    return out.isatty()


def width_of(out: TextIO) -> int | None:
    """COLUMNS, else the terminal's width, else None: do not wrap."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), 20)
    if out.isatty():
        try:
            return os.get_terminal_size(out.fileno()).columns
        except (OSError, ValueError):
            return 80
    return None


def make_console(out: TextIO, color: bool | None) -> Console:
    """A console that never wraps nor pads on its own (callers wrap with `wrap`), and prints
    data as text: no markup, every control character neutralised (`safe_console.py`)."""
    from pullguard.report.safe_console import SafeConsole

    colored = wants_color(out, color)
    return SafeConsole(
        file=out,
        force_terminal=colored,
        no_color=not colored,
        color_system="auto" if colored else None,
        width=100_000,  # rich must not wrap: `wrap` does, at word boundaries only
        highlight=False,
        soft_wrap=True,
        emoji=False,
        markup=False,
    )


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """Lines of `text` no wider than `width` where words allow; a word (an image, a path) is never split."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        if width is None:
            lines.append((indent + paragraph).rstrip())
            continue
        wrapped = textwrap.wrap(
            paragraph,
            width=max(width, len(indent) + 20),
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(line.rstrip() for line in wrapped or [indent.rstrip()])
    return lines
