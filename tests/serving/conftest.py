"""The webhook's TLS files: a CA and a server certificate for 127.0.0.1, in tmp_path/certs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from integration.registry_env import Pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    pki = Pki(tmp_path / "pki")
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(pki.server_cert, certs / "tls.crt")
    shutil.copy(pki.server_key, certs / "tls.key")
    return pki
