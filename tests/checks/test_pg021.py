"""PG021: a matching pull secret is broken, and a node credential tried after it masks it."""

from __future__ import annotations

from support import NOW, fixture_tests, fixtures_of, scanner

from pullguard.checks import Severity
from pullguard.scan import ScanOptions

CHECK = "PG021"
FIXTURES = fixtures_of(CHECK)
# a key without a credential is no evidence that the registry is private: it is declared
PRIVATE = ScanOptions(now=NOW, private_patterns=("harbor.example.com",))
scan, of_check = scanner(CHECK, {"identity_token_masked.yaml": PRIVATE, "provider_only.yaml": PRIVATE})
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.LOW
)


def test_names_the_secret_and_what_masks_it() -> None:
    result = scan(FIXTURES / "fail" / "identity_token_masked.yaml")
    (finding,) = of_check(result)
    assert "pull secret 'harbor-login' matches 'harbor.example.com/shop/web:1.4'" in finding.message
    assert "provider harbor-credential-provider (node identity) follows" in finding.message
    (image,) = result.resolution.images
    assert image.coverage.value == "provider"
    assert not of_check(result, "PG001")
    assert of_check(result, "PG030")  # the secret itself holds nothing to pull with
