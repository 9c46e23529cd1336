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
