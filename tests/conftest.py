"""Suite-wide: `make check` (PULLGUARD_NO_SYSTEM_PACKAGES=1) skips the tests that need Debian packages.

Tests marked `integration` (a real registry and skopeo) or `system` (another binary from a
system package: chromium, kubectl) are skipped there with the reason, so a developer without
root runs lint and everything else; `make test` installs the packages and runs them all.
"""

from __future__ import annotations

import os

import pytest

NO_SYSTEM_PACKAGES = "PULLGUARD_NO_SYSTEM_PACKAGES"


@pytest.hookimpl(trylast=True)  # after tests/integration/conftest.py has marked its tests
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get(NO_SYSTEM_PACKAGES, "") in ("", "0"):
        return
    skip = pytest.mark.skip(
        reason="needs Debian packages (make system-deps, as root): skipped by `make check`; `make test` runs it"
    )
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("system"):
            item.add_marker(skip)
