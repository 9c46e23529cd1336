"""Counts in words: `1 image`, `2 images` (every report words its counts the same way)."""

from __future__ import annotations


def count(number: int, word: str) -> str:
    """`number` and `word`, plural unless the number is 1 (regular English plurals only)."""
    return f"{number} {word}{'' if number == 1 else 's'}"
