"""Counts in words: `1 finding`, `2 findings`, `1 policy`, `3 policies`.

The one helper every layer uses for a number followed by what it counts (it imports nothing, so
sources and semantics may use it as well as the reports).
"""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 finding`, `2 findings`, `0 findings`; give `many` when the plural is not word+s
    (`plural(n, 'policy', 'policies')`, `plural(n, 'image is', 'images are')`)."""
    return f"{count} {noun(count, word, many)}"


def noun(count: int, word: str, many: str | None = None) -> str:
    """The word alone, as `plural` would write it after `count`: `pull secret` for 1, `pull secrets` else."""
    return word if count == 1 else (many or word + "s")
