"""Scanning files: the pipeline (`pipeline.py`) with the file and script sources.

Kept as the stable import place of `ScanOptions`, `ScanResult` and `scan_paths`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pullguard.inventory.kinds import needs_body
from pullguard.pipeline import Probe, Source, analyse, run
from pullguard.result import ScanResult, Summary
from pullguard.settings import ScanOptions
from pullguard.sources.files import STDIN, FileSource
from pullguard.sources.scripts import ScriptSource

__all__ = ["ScanOptions", "ScanResult", "Summary", "analyse", "file_sources", "scan_paths"]


def file_sources(paths: Sequence[str], progress: Callable[[int, int], None] | None = None) -> list[Source]:
    """Manifests under `paths` (or standard input), and the scripts beside them (PG010)."""
    given = tuple(paths) or (".",)
    sources: list[Source] = [FileSource(needs_body, progress=progress, paths=given)]
    scripts = tuple(p for p in given if p != STDIN)
    if scripts:
        sources.append(ScriptSource(scripts))
    return sources


def scan_paths(
    paths: Sequence[str],
    options: ScanOptions,
    progress: Callable[[int, int], None] | None = None,
    *,
    probe: Probe | None = None,
) -> ScanResult:
    return run(file_sources(paths, progress), options, probe=probe)
