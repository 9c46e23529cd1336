"""Build the krew plugin archive that plugins/pullguard.yaml points at, byte for byte reproducibly.

    python scripts/krew_archive.py [OUTDIR]      # default dist/; prints the path and its sha256

The archive is a ZIP with stored (uncompressed) members, fixed timestamps and modes, so its
sha256 depends only on plugins/kubectl-pullguard and LICENSE: the manifest can carry it before
the release is uploaded, and tests/distribution checks that they still agree.
"""

from __future__ import annotations

import hashlib
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = (
    ("kubectl-pullguard", ROOT / "plugins" / "kubectl-pullguard", 0o755),
    ("LICENSE", ROOT / "LICENSE", 0o644),
)
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time ZIP can hold


def version() -> str:
    text = (ROOT / "src" / "pullguard" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert found, "no __version__ in src/pullguard/__init__.py"
    return found.group(1)


def archive_name() -> str:
    return f"kubectl-pullguard-v{version()}.zip"


def build(outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / archive_name()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, source, mode in MEMBERS:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.create_system = 3  # Unix: krew restores the mode from external_attr
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, source.read_bytes())
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    target = build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist")
    print(f"{target}  sha256:{sha256(target)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
