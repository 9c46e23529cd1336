"""Integration fixtures: real registries on 127.0.0.1 (see registry_env.py).

The binaries come from `make test` (Debian's docker-registry and skopeo). When they
are missing the tests fail with a clear message on CI (CI=true) and skip elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration import registry_env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def require_binaries() -> None:
    missing = registry_env.binaries_missing()
    if not missing:
        return
    message = (
        f"integration tests need {', '.join(missing)}: run `make system-deps` "
        "(apt-get install docker-registry skopeo)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def no_proxy() -> Iterator[None]:
    yield from registry_env.clean_env()


@pytest.fixture(scope="session")
def registries(
    tmp_path_factory: pytest.TempPathFactory, no_proxy: None
) -> Iterator[registry_env.Environment]:
    require_binaries()
    env = registry_env.start_environment(tmp_path_factory.mktemp("registries"))
    try:
        yield env
    finally:
        env.stop()
