"""500 images on one registry: token caching and connection reuse keep verify to a few seconds."""

from __future__ import annotations

import time
from pathlib import Path

from integration import manifests as m
from integration.registry_env import USERS, Environment, push_image, push_token
from pullguard.registry.client import ClientOptions
from pullguard.registry.verify import VerifyOptions, verify
from pullguard.scan import ScanOptions, scan_paths

REPOSITORIES, TAGS = 10, 50


def test_500_images_on_one_registry(registries: Environment, tmp_path: Path) -> None:
    env = registries
    for r in range(REPOSITORIES):
        repository = f"team/scale{r}"
        tags = tuple(f"v{t}" for t in range(TAGS))
        push_image(
            env.token, repository, tags[0], "Bearer " + push_token(env, repository), more_tags=tags[1:]
        )
    images = [f"{env.token.host}/team/scale{r}:v{t}" for r in range(REPOSITORIES) for t in range(TAGS)]
    path = m.write(
        tmp_path / "scale.yaml",
        [m.secret("bob", {env.token.host: ("bob", USERS["bob"])})],
        [m.Workload(f"w{i}", image, ("bob",)) for i, image in enumerate(images)],
    )
    scanned = scan_paths([str(path)], ScanOptions())
    before = env.token_server.requests
    started = time.monotonic()
    result = verify(scanned, VerifyOptions(client=ClientOptions(ca_file=str(env.pki.ca_pem)), deadline=120))
    elapsed = time.monotonic() - started
    assert len(result.verdicts) == 500
    assert all(v.outcome.ok for v in result.verdicts), result.counts()
    assert env.token_server.requests - before == REPOSITORIES  # one token per (identity, repository scope)
    assert result.stats.pings == 1
    assert result.stats.manifest_requests == 500
    print(f"\n500 images verified in {elapsed:.2f}s ({result.stats.requests} requests)")
    assert elapsed < 15, elapsed
