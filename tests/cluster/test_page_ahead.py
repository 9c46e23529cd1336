"""Live lists are read one page ahead (sources/cluster.py `_pages`): the next page is asked
for while the caller judges the current one, over real HTTP against the API-server double."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from apiserver_double import ApiServerDouble, RequestLog
from cluster.fixtures import pod
from pullguard.sources.cluster import PAGE_THREAD_SWITCH_INTERVAL, ClusterOptions, ClusterSource, connect


def _source(api: ApiServerDouble, tmp_path: Path) -> ClusterSource:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump(api.kubeconfig("prod")))
    return ClusterSource(connect(str(config), "prod"), ClusterOptions(all_namespaces=True, page_size=2))


def _pods(count: int) -> dict[str, Any]:
    return {
        "pods": [pod(f"web-{i}", "shop", "registry.corp.example/web:1", ["regcred"]) for i in range(count)]
    }


def _pod_pages(api: ApiServerDouble) -> list[str | None]:
    return [r.query.get("continue") for r in list(api.requests) if r.path == "/api/v1/pods"]


def test_next_page_is_asked_for_while_the_caller_holds_this_one(tmp_path: Path) -> None:
    second_page = threading.Event()

    def seen(entry: RequestLog) -> None:
        if entry.path == "/api/v1/pods" and entry.query.get("continue"):
            second_page.set()

    with ApiServerDouble(_pods(5), on_request=seen) as api:
        source = _source(api, tmp_path)
        reader = source.read()
        first = next(m for m in reader if m.kind == "Pod")
        assert first.name == "web-0"
        # the caller has not asked for a third pod, yet the second page is on its way
        assert second_page.wait(10), _pod_pages(api)
        rest = [m.name for m in reader if m.kind == "Pod"]
    assert rest == ["web-1", "web-2", "web-3", "web-4"]
    assert len(_pod_pages(api)) == 3  # 5 pods in pages of 2: no request more than before
    assert source.requests == len(api.requests)


def test_a_failed_page_ahead_fails_the_read_where_that_page_starts(tmp_path: Path) -> None:
    def fail_second_pod_page(entry: RequestLog, _api: Any) -> tuple[int, Any] | None:
        if entry.path == "/api/v1/pods" and entry.query.get("continue"):
            return 500, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd timeout"}
        return None

    with ApiServerDouble(_pods(5), intercept=fail_second_pod_page) as api:
        source = _source(api, tmp_path)
        names: list[str] = []
        for manifest in source.read():
            if manifest.kind == "Pod":
                names.append(manifest.name)
    assert names == ["web-0", "web-1"]  # the first page was judged; the error came with the second
    # a failed list costs that list, not the scan: an input problem, and the result is partial
    [problem] = [p for p in source.problems if p.code == "api-error"]
    assert "etcd timeout" in problem.message and "pods" in problem.message
    assert source.partial


def test_reading_hands_the_interpreter_lock_to_page_threads_promptly_and_restores_it(tmp_path: Path) -> None:
    """While lists are read the switch interval is PAGE_THREAD_SWITCH_INTERVAL, so a page that
    has arrived is read without waiting 5 ms for the judging thread; after the read (to its end,
    or stopped early) it is what it was. Two reads at once (a fleet) restore it when both end."""
    before = sys.getswitchinterval()
    with ApiServerDouble(_pods(5)) as api:
        first, second = _source(api, tmp_path).read(), _source(api, tmp_path).read()
        next(first)
        assert sys.getswitchinterval() == PAGE_THREAD_SWITCH_INTERVAL < before
        head = next(second)
        first.close()  # stopped early
        assert sys.getswitchinterval() == PAGE_THREAD_SWITCH_INTERVAL  # the other still reads
        assert [m.name for m in (head, *second) if m.kind == "Pod"] == [f"web-{i}" for i in range(5)]
        assert sys.getswitchinterval() == before
        assert len(list(_source(api, tmp_path).read())) == 5
    assert sys.getswitchinterval() == before
