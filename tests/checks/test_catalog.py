"""Every declared check is complete, and has pass and fail fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pullguard.checks import REGISTRY, Severity
from pullguard.checks.base import STANDARDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_registry_is_not_empty() -> None:
    assert {"PG001", "PG002", "PG003", "PG004"} <= set(REGISTRY)


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_declaration_is_complete(check_id: str) -> None:
    info = REGISTRY[check_id].info
    assert re.fullmatch(r"PG\d{3}", info.id)
    assert info.id == check_id
    assert info.title.strip()
    assert isinstance(info.severity, Severity)
    assert info.description.strip()
    assert info.remediation.strip()
    assert info.standards
    assert set(info.standards) <= set(STANDARDS), set(info.standards) - set(STANDARDS)
    assert callable(REGISTRY[check_id].run)


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_has_fixtures(check_id: str, outcome: str) -> None:
    directory = FIXTURES / check_id.lower() / outcome
    assert directory.is_dir(), f"{directory} is missing"
    assert list(directory.glob("*.yaml")), f"{directory} holds no fixture"


ALL_FIXTURES = sorted(FIXTURES.glob("pg*/*/*.yaml"))


@pytest.mark.parametrize(
    "path", ALL_FIXTURES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}"
)
def test_every_check_over_every_fixture_yields_hits_stamped_by_its_declaration(path: Path) -> None:
    """Checks report what they saw (`Hit`); identity and default severity come from the
    declaration alone, so a finding can never claim another check's id."""
    from pullguard.checks.base import Hit
    from pullguard.scan import ScanOptions, scan_paths

    resolution = scan_paths([str(path)], ScanOptions()).resolution
    for check_id, check in sorted(REGISTRY.items()):
        hits = list(check.run(resolution))
        assert all(isinstance(hit, Hit) for hit in hits), check_id
        for hit, finding in zip(hits, check.findings(resolution), strict=True):
            assert finding.check_id == check_id
            assert finding.severity is (hit.severity or check.info.severity)
            assert (finding.object, finding.message) == (hit.object, hit.message)


def test_a_check_that_restates_a_finding_is_refused() -> None:
    from pullguard.checks.base import Check, CheckInfo, Finding
    from pullguard.inventory.model import ObjectRef
    from pullguard.sources.model import Location

    def restating(_resolution: object) -> list[Finding]:
        return [Finding("PG999", Severity.LOW, ObjectRef("Pod", "ns", "p"), "m", Location("f", 1, 1), "fix")]

    check = Check(CheckInfo("PG999", "t", Severity.LOW, "d", "r", ("CWE-522",)), restating)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not Hit"):
        list(check.findings(None))  # type: ignore[arg-type]
