"""`scan --cluster` against a broken or hostile API server (the double's `fault`): one bad answer
costs its list, the scan ends within its bounds, and what was read is still analysed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from apiserver_double import ApiServerDouble, Fault, RequestLog, internal_error, json_fault
from cluster.fixtures import shop_cluster
from pullguard.cli import fleet_exit_code
from pullguard.fleet import ClusterScan, scan_live
from pullguard.scan import ScanOptions
from pullguard.sources import cluster as cluster_source
from pullguard.sources.cluster import ClusterOptions

PODS = "/api/v1/pods"
ROLEBINDINGS = "/apis/rbac.authorization.k8s.io/v1/rolebindings"


def _scan(
    tmp_path: Path, fault: Callable[[RequestLog], Fault | None], **options: float
) -> tuple[ClusterScan, ApiServerDouble, float]:
    with ApiServerDouble(shop_cluster(), fault=fault) as api:
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(api.kubeconfig("prod")))
        started = time.monotonic()
        fleet = scan_live((None,), str(path), ClusterOptions(all_namespaces=True, **options), ScanOptions())  # type: ignore[arg-type]
        elapsed = time.monotonic() - started
    (scanned,) = fleet.clusters
    return scanned, api, elapsed


def _on(path: str, fault: Fault) -> Callable[[RequestLog], Fault | None]:
    return lambda request: fault if request.path == path else None


def _problems(scanned: ClusterScan) -> list[tuple[str, str]]:
    assert scanned.result is not None, scanned.error
    return [(p.code, p.level.value) for p in scanned.result.problems if p.code != "assumed-node-credentials"]


def _message(scanned: ClusterScan, code: str) -> str:
    assert scanned.result is not None
    return next(p.message for p in scanned.result.problems if p.code == code)


def _finding_objects(scanned: ClusterScan) -> set[str]:
    assert scanned.result is not None
    return {f.object.name for f in scanned.result.findings}


@pytest.mark.parametrize(
    "document",
    [
        [1, 2],
        "items",
        {"kind": "PodList", "items": 5},
        {"kind": "PodList", "items": ["web", 7]},
        {"kind": "PodList", "metadata": [], "items": []},
        {"kind": "PodList", "metadata": {"continue": 5}, "items": []},
    ],
)
def test_a_list_of_the_wrong_shape_is_a_partial_result(tmp_path: Path, document: object) -> None:
    scanned, _, _ = _scan(tmp_path, _on(PODS, json_fault(document)))
    assert _problems(scanned) == [("api-error", "error")]
    assert "wrong shape" in _message(scanned, "api-error")
    assert scanned.partial
    assert "idle" in _finding_objects(scanned)  # the deployments were read and judged
    assert fleet_exit_code(_fleet(scanned), "low", False) == 2


def _fleet(scanned: ClusterScan):  # type: ignore[no-untyped-def]
    from pullguard.fleet import FleetResult

    return FleetResult([scanned])


def test_a_500_on_an_optional_list_is_a_warning(tmp_path: Path) -> None:
    scanned, _, _ = _scan(tmp_path, _on(ROLEBINDINGS, internal_error()))
    assert _problems(scanned) == [("api-error", "warning")]
    assert not scanned.partial
    assert {"idle", "tool-0"} <= _finding_objects(scanned)


def test_a_500_on_pods_is_a_partial_result(tmp_path: Path) -> None:
    scanned, _, _ = _scan(tmp_path, _on(PODS, internal_error()))
    assert _problems(scanned) == [("api-error", "error")]
    assert scanned.partial and "idle" in _finding_objects(scanned)


def _pods_page(token: str) -> Fault:
    return json_fault({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": token}, "items": []})


def test_a_repeated_continue_token_stops_paging(tmp_path: Path) -> None:
    scanned, api, _ = _scan(tmp_path, _on(PODS, _pods_page("same")))
    assert _problems(scanned) == [("api-error", "error")]
    assert sum(1 for path in api.paths() if path == PODS) == 2


def test_an_endless_continue_token_is_bounded_by_the_deadline(tmp_path: Path) -> None:
    counter = itertools.count()
    scanned, _, elapsed = _scan(
        tmp_path, lambda r: _pods_page(f"t{next(counter)}") if r.path == PODS else None, deadline=3.0
    )
    assert elapsed < 8, elapsed
    assert ("deadline", "error") in _problems(scanned)
    assert scanned.partial and "idle" in _finding_objects(scanned)


def _endless() -> Iterator[bytes]:
    yield b'{"kind":"PodList","items":[{"metadata":{"name":"'
    while True:
        yield b"x" * 65536


def test_an_endless_body_is_cut_at_the_byte_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_source, "MAX_RESPONSE_BYTES", 4 * 1024 * 1024)
    scanned, _, elapsed = _scan(tmp_path, _on(PODS, Fault(body=_endless(), length=False)))
    assert _problems(scanned) == [("api-error", "error")]
    assert "larger than 4194304 bytes" in _message(scanned, "api-error")
    assert elapsed < 10, elapsed


def test_an_endless_body_is_cut_at_the_request_timeout(tmp_path: Path) -> None:
    scanned, _, elapsed = _scan(
        tmp_path, _on(PODS, Fault(body=_endless(), length=False, pause=0.01)), request_timeout=2.0
    )
    assert _problems(scanned) == [("api-error", "error")]
    assert elapsed < 8, elapsed


def test_a_trickling_server_is_cut_at_the_request_timeout(tmp_path: Path) -> None:
    """One byte every 0.5 s: never a socket timeout, yet the request ends at --request-timeout."""
    body = b'{"kind":"RoleBindingList","items":[]}'
    trickle = Fault(body=[body[i : i + 1] for i in range(len(body))], pause=0.5)
    scanned, _, elapsed = _scan(tmp_path, _on(ROLEBINDINGS, trickle), request_timeout=2.0)
    assert _problems(scanned) == [("api-error", "warning")]
    assert "--request-timeout" in _message(scanned, "api-error")
    assert elapsed < 8, elapsed
