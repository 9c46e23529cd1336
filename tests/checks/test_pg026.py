"""PG026: a token-mode credential provider's audience that RBAC does not let the nodes request."""

from __future__ import annotations

from support import fixture_tests, fixtures_of, line_of, scanner

from pullguard.checks import Severity

CHECK = "PG026"
FIXTURES = fixtures_of(CHECK)
scan, of_check = scanner(CHECK)
test_fail_fixture_yields_a_finding, test_pass_fixture_yields_none = fixture_tests(
    CHECK, scan, of_check, Severity.MEDIUM
)


def test_names_the_audience_and_gives_the_grant() -> None:
    path = FIXTURES / "fail" / "audience_not_granted.yaml"
    (finding,) = of_check(scan(path))
    assert "audience 'sts.amazonaws.com'" in finding.message
    assert "ServiceAccountNodeAudienceRestriction" in finding.message
    assert finding.location.line == line_of(path, "- name: ecr-credential-provider")
    assert (
        'resources: ["sts.amazonaws.com"], verbs: ["request-serviceaccounts-token-audience"]'
        in finding.remediation
    )
    assert "name: system:nodes" in finding.remediation


def test_the_grant_is_valid_rbac() -> None:
    import yaml

    (finding,) = of_check(scan(FIXTURES / "fail" / "audience_not_granted.yaml"))
    body = finding.remediation.split("\n", 1)[1].rsplit("\nEOF", 1)[0]
    role, binding = yaml.safe_load_all(body)
    assert role["kind"] == "ClusterRole" and binding["roleRef"]["name"] == role["metadata"]["name"]
    # the fixture's pass case is exactly this grant: applied, the finding goes away
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["sts.amazonaws.com"],
            "verbs": ["request-serviceaccounts-token-audience"],
        }
    ]
