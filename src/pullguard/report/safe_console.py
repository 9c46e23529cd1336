"""The rich Console every text report prints through: data is text, never markup or escapes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from pullguard.text_safety import is_safe, neutralise


class SafeConsole(Console):
    """No markup, emoji or highlighting (a name `web[/]` is text, not a closing tag), and every
    segment of text neutralised (`pullguard.text_safety`) before rich adds its own styles.

    Strings are neutralised before rich measures them (columns line up); `Text` objects a
    reporter builds from data should be built from `neutralise`d strings for the same reason,
    the segment filter is the net under them."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("markup", False)
        options.setdefault("emoji", False)
        options.setdefault("highlight", False)
        super().__init__(**options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(neutralise(text), **options)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and not is_safe(segment.text):
                yield Segment(neutralise(segment.text), segment.style)
            else:
                yield segment
