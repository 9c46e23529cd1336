"""`serve --verify-interval`: ask the registries, on a slower schedule, whether each image pulls.

Every interval the whole watched inventory is analysed once and handed to `verify`
(the kubelet's credential order, GET /v2/, token, manifest HEAD: nothing is
downloaded), within verify's bounds (per-request timeouts, concurrency per registry,
a deadline for the whole run). The outcome of each image is counted per registry for
`pullguard_registry_check{image_registry,result}`; every request made, with the HTTP status
code of its answer (or `error`: no answer, e.g. a timeout or a refused TLS handshake), in the
counter `pullguard_registry_requests_total{image_registry,code}`. Both label sets are bounded:
registries by the watched images (a token server counts for the registry that sent there),
codes by HTTP.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pullguard.pipeline import analyse

if TYPE_CHECKING:
    from pullguard.registry.verify import VerifyOptions
    from pullguard.serve.judge import Judge

log = logging.getLogger("pullguard.serve.registry")


@dataclass
class RegistryChecks:
    judge: Judge
    options: VerifyOptions
    interval: float
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (registry, result) -> images
    # (image registry, HTTP status code or "error") -> requests made by every round so far (a counter)
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_timestamp: float = 0.0
    last_duration: float = 0.0
    runs: int = 0
    _thread: threading.Thread | None = None

    def start(self, stop: threading.Event, ready: threading.Event) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(stop, ready), name="registry-checks", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, stop: threading.Event, ready: threading.Event) -> None:
        while not ready.wait(0.5):
            if stop.is_set():
                return
        while not stop.is_set():
            try:
                self.check()
            except Exception:  # a failed round is logged; the next one runs on schedule
                log.exception("registry checks failed")
            stop.wait(self.interval)

    def check(self) -> None:
        from pullguard.registry.verify import verify

        started = time.monotonic()
        inventory, options = self.judge.inventory(None)
        scan = analyse(inventory, self.judge.scan_options(options))
        result = verify(scan, self.options)
        outcomes: Counter[tuple[str, str]] = Counter()
        for verdict in result.verdicts:
            ref = verdict.judgement.use.ref
            if ref is None:
                continue
            outcomes[(ref.domain or "docker.io", verdict.outcome.kind.value.replace("-", "_"))] += 1
        self.outcomes = outcomes
        self.requests = self.requests + result.stats.responses  # a new Counter: scrapes read the old one
        self.last_duration = time.monotonic() - started
        self.last_timestamp = time.time()
        self.runs += 1
        log.info(
            "registry checks done",
            extra={"images": sum(outcomes.values()), "seconds": round(self.last_duration, 2)},
        )
