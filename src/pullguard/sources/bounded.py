"""Bounds for reading from a server: bytes per answer, seconds per request, seconds per run.

A socket read timeout alone does not bound a request: a server that sends one byte
every few seconds never trips it. `run_within` runs the request in a daemon thread
and stops waiting at the bound; the thread is abandoned with its connection, and
the process can still exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

MAX_RESPONSE_BYTES = 1024 * 1024 * 1024
"""One API answer. A page of 500 objects (the page size) at etcd's default 1.5 MiB request
limit per object is 750 MiB; nothing legitimate is larger."""

DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_DEADLINE = 1800.0


class Readable(Protocol):
    def read1(self, amt: int | None = None, decode_content: bool | None = None) -> bytes: ...


class TooLarge(Exception):
    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} is larger than {limit} bytes: not read")


class TooLate(Exception):
    pass


def read_bounded(response: Readable, limit: int, what: str, until: float = float("inf")) -> bytes:
    """The whole body, or TooLarge once it passes `limit` bytes (read as it arrives, never whole);
    TooLate once the monotonic clock passes `until` (a request given up on stops reading)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read1(1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise TooLarge(what, limit)
        if time.monotonic() > until:
            raise TooLate(what)
        chunks.append(chunk)


@dataclass(slots=True)
class Budget:
    """Seconds per request (0: none, as kubectl's --request-timeout=0) and for the whole run."""

    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    started: float = field(default_factory=time.monotonic)

    def next_request(self) -> tuple[float, bool]:
        """Seconds the next request may take, and whether the run's deadline is what limits it."""
        left = self.deadline - (time.monotonic() - self.started)
        if self.request_timeout <= 0 or left <= self.request_timeout:
            return left, True
        return self.request_timeout, False

    def spent(self) -> str:
        return f"the scan did not finish within its deadline ({self.deadline:g}s, --deadline)"


def run_within(seconds: float, work: Callable[[], T], late: Callable[[], Exception]) -> T:
    """`work()`'s result or exception, or `late()` raised once `seconds` have passed."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as error:  # handed to the waiting thread
            box["error"] = error

    thread = threading.Thread(target=run, name="pullguard-request", daemon=True)
    thread.start()
    thread.join(None if seconds == float("inf") else seconds)
    if thread.is_alive():
        raise late()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds from kubectl's duration syntax (`0`, `30s`, `2m`, `1h`, `1m30s`, `500ms`) or a bare
    number of seconds. Raises ValueError."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        import re

        parts = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)", value)
        if parts is None:
            raise ValueError(f"{text!r} is not a duration (e.g. 30s, 2m, 1h; 0 for none)") from None
        seconds = sum(
            float(number) * _UNITS[unit] for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value)
        )
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 2m, 1h; 0 for none)")
    return seconds
