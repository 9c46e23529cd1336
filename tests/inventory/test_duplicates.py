"""Objects defined twice (tests/fixtures/duplicates): a warning naming both definitions, and a
verdict that does not depend on the order the files are given in."""

from __future__ import annotations

from pathlib import Path

from pullguard.inventory.duplicates import order_key
from pullguard.scan import ScanOptions, ScanResult, scan_paths
from pullguard.sources.model import Level, Location

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "duplicates"
BASE, OVERLAY = str(FIXTURES / "base"), str(FIXTURES / "overlay")


def _scan(*paths: str) -> ScanResult:
    return scan_paths(list(paths), ScanOptions())


def _verdicts(result: ScanResult) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return sorted(
        (j.use.image, j.coverage.value, str(j.visibility), tuple(m.secret or "" for m in j.matches))
        for j in result.resolution.images
    )


def test_verdict_does_not_depend_on_file_order() -> None:
    forward, backward = _scan(BASE, OVERLAY), _scan(OVERLAY, BASE)
    assert _verdicts(forward) == _verdicts(backward)
    account = forward.inventory.service_accounts[("shop", "shop-runner")]
    assert account.pull_secrets == ("registry",)  # overlay/ comes after base/ in path order
    assert account.location.path.endswith("overlay/identity.yaml")
    assert backward.inventory.service_accounts[("shop", "shop-runner")] == account
    # the cart image is covered through the overlay's ServiceAccount and its secret
    assert _verdicts(forward) == [
        ("registry.shop.example/shop/cart:5", "serviceaccount", "private", ("registry",))
    ]
    assert [f.check_id for f in forward.findings if f.check_id in ("PG001", "PG002")] == []
    assert sorted(map(str, forward.problems)) == sorted(map(str, backward.problems))


def test_warning_names_both_definitions_and_what_differs() -> None:
    result = _scan(OVERLAY, BASE)
    warnings = {p.message.split(" is defined")[0]: p for p in result.problems if p.code == "duplicate-object"}
    # the identical Namespace in both is no warning: copies of a Namespace change nothing
    assert set(warnings) == {"ServiceAccount shop/shop-runner"}
    account = warnings["ServiceAccount shop/shop-runner"]
    assert account.level is Level.WARNING
    assert account.location.path.endswith("base/identity.yaml")
    assert f"here and at {OVERLAY}/identity.yaml: document 1, line 3" in account.message
    assert "they differ in imagePullSecrets" in account.message


def test_namespaces_warned_only_when_they_differ(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n")
    (tmp_path / "b.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {tier: gold}\n"
    )
    (warning,) = [p for p in _scan(str(tmp_path)).problems if p.code == "duplicate-object"]
    assert warning.location.path.endswith("a.yaml") and "they differ in labels" in warning.message


def test_identical_service_accounts_are_still_reported(tmp_path: Path) -> None:
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n  namespace: ci\n"
    (tmp_path / "a.yaml").write_text(account)
    (tmp_path / "b.yaml").write_text(account)
    (warning,) = [p for p in _scan(str(tmp_path)).problems if p.code == "duplicate-object"]
    assert "the two are identical" in warning.message and warning.message.startswith(
        "ServiceAccount ci/runner"
    )


def test_external_secrets_writing_one_secret_are_named_as_such(tmp_path: Path) -> None:
    external = (
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: db\n"
        "  namespace: ci\nspec:\n  target:\n    name: db-creds\n"
    )
    (tmp_path / "a.yaml").write_text(external)
    (tmp_path / "b.yaml").write_text(external.replace("name: db\n", "name: db-copy\n", 1))
    (warning,) = [p for p in _scan(str(tmp_path)).problems if p.code == "duplicate-object"]
    assert warning.message.startswith("Secret ci/db-creds (an ExternalSecret) is defined more than once")


def test_same_name_in_another_namespace_is_no_duplicate() -> None:
    result = _scan(OVERLAY, str(FIXTURES / "other_namespace.yaml"))
    assert [p for p in result.problems if p.code == "duplicate-object"] == []


def test_path_order_is_directory_walk_order() -> None:
    # kubectl walks `a/` before `a-b/` although "a-b/..." < "a/..." as plain strings
    first, second = Location("a/x.yaml", 1, 1), Location("a-b/x.yaml", 1, 1)
    assert order_key(first) < order_key(second)
    assert order_key(Location("a.yaml", 1, 1)) < order_key(Location("a.yaml", 2, 1))
