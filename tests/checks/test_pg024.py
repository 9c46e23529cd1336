"""PG024: image volumes on versions where ImageVolume is off by default (before v1.35)."""

from __future__ import annotations

from support import NOW, fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity
from pullguard.inventory.kubelet_config import KubeletInputs
from pullguard.scan import ScanOptions

CHECK = "PG024"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(
    CHECK,
    {
        "image_volume_v1_34.yaml": ScanOptions(now=NOW, kubernetes_version="v1.34.2"),
        "image_volume_v1_35.yaml": ScanOptions(now=NOW, kubernetes_version="v1.35.0"),
    },
)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)
PATH = FIXTURES / "fail" / "image_volume_v1_34.yaml"


def test_unknown_version_is_not_judged() -> None:
    assert not of_check(scan(PATH, ScanOptions(now=NOW)))


def test_explicit_feature_gate_wins_over_the_default() -> None:
    gates = KubeletInputs(feature_gates=(("ImageVolume", True),))
    assert not of_check(scan(PATH, ScanOptions(now=NOW, kubernetes_version="v1.33", kubelet=gates)))
    (finding,) = of_check(scan(PATH, ScanOptions(now=NOW, kubernetes_version="v1.33")))
    assert "on v1.33 the ImageVolume feature is off" in finding.message
