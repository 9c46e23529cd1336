"""Coverage-guided fuzzing (atheris) of everything that reads untrusted input.

`make fuzz` runs every target on its own: `FUZZ_TARGET=NAME python fuzz/fuzz_pullguard.py
-runs=100000 -max_len=4096`, so each gets its own 100,000 inputs. Without FUZZ_TARGET the first
byte picks a target and the rest is the input. A target may raise only pullguard's own errors
(PullguardError); anything else is a crash libFuzzer reports.

Targets: scan_text (bytes of a manifest file -> findings), image_reference, docker_config,
registry_keys, cluster_json (an API server answering every request with the input: shape checks,
paging, the live inventory, the analysis), registry_headers (a registry answer's header block and
body: WWW-Authenticate challenges, the token realm URL, RateLimit/Retry-After, the token JSON, and
the text safety of what would be shown).
"""

from __future__ import annotations

import contextlib
import os
import sys

import atheris
import httpx

with atheris.instrument_imports():
    from pullguard.errors import PullguardError
    from pullguard.fleet import scan_cluster
    from pullguard.inventory.build import InventoryBuilder
    from pullguard.inventory.kinds import needs_body
    from pullguard.pipeline import analyse
    from pullguard.registry import client as registry_client
    from pullguard.scan import ScanOptions
    from pullguard.semantics.dockerconfig import decode_secret_value, parse_dockercfg, parse_dockerconfigjson
    from pullguard.semantics.imageref import parse_image
    from pullguard.semantics.keyring import key_matches, lookup, parse_registry_key
    from pullguard.settings import NodeCredential
    from pullguard.sources.cluster import ClusterOptions, Connection, decode_answer
    from pullguard.sources.model import InputProblem, ReadStats
    from pullguard.sources.yamldocs import DocumentReader, decode_text
    from pullguard.text_safety import is_safe, neutralise, one_line, redact_image, redact_userinfo


def scan_text(data: bytes) -> None:
    """The whole pipeline, from the bytes of one file to findings."""
    try:
        text = decode_text(data)
    except UnicodeDecodeError:
        return
    problems: list[InputProblem] = []
    reader = DocumentReader(needs_body, ReadStats(), problems)
    builder = InventoryBuilder()
    inventory = builder.add_all(reader.read_text("fuzz.yaml", text))
    result = analyse(inventory, ScanOptions(node_credentials=(NodeCredential("*.corp.example"),)))
    _no_internal_error(problems + result.problems)


def _no_internal_error(problems: list[InputProblem]) -> None:
    """A failure pullguard isolated (a check, an object) is still a crash for the fuzzer."""
    for problem in problems:
        if problem.code == "internal-error":
            raise AssertionError(problem.message)


def image_reference(data: bytes) -> None:
    parse_image(data.decode("utf-8", "replace"))


def docker_config(data: bytes) -> None:
    parse_dockerconfigjson(data)
    parse_dockercfg(data)
    decode_secret_value(data.decode("utf-8", "replace"))


def registry_keys(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    key, _, image = text.partition("\n")
    parsed = parse_registry_key(key)
    if parsed is not None:
        key_matches(parsed.location, image)
        lookup([parsed.location, "index.docker.io"], image)


class _AnswerEverything:
    """An API server whose every answer is the fuzz input (status from its first byte)."""

    name = "fuzz"
    server = "https://fuzz.invalid"

    def __init__(self, data: bytes) -> None:
        self.status = (200, 200, 200, 404, 410, 500)[data[0] % 6] if data else 200
        self.data = data[1:]
        self.requests = 0

    def get(self, path: str, query: list[tuple[str, str]], accept: str = "application/json") -> object:
        self.requests += 1
        if self.requests > 5000:  # the scan must end on its own: paging bounded, tokens never repeat
            raise AssertionError("the cluster source keeps asking")
        return decode_answer(self.name, self.server, self.status, self.data, path)


def cluster_json(data: bytes) -> None:
    transport = _AnswerEverything(data)
    options = ClusterOptions(all_namespaces=True, page_size=500)
    scan = scan_cluster(Connection("fuzz", transport, "default"), options, ScanOptions())
    _no_internal_error(scan.result.problems if scan.result else [])


def registry_headers(data: bytes) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    raw = [line.partition(b":") for line in head.split(b"\r\n") if b":" in line]
    headers = httpx.Headers([(name.strip(), value.strip()) for name, _, value in raw if name.strip()])
    challenge = registry_client.parse_challenge(headers.get_list("www-authenticate"))
    if challenge is not None:
        realm = registry_client.parse_realm(challenge.params.get("realm", ""))
        if realm is not None:
            assert realm.scheme in ("http", "https") and realm.host
    limit = registry_client._rate_limit(headers)
    registry_client._retry_after(headers.get("retry-after"))
    with contextlib.suppress(registry_client._Failure):
        registry_client._parse_token(body, "fuzz.invalid")
    for shown in (str(limit), headers.get("content-type", ""), headers.get("docker-content-digest", "")):
        assert is_safe(neutralise(shown)) and is_safe(one_line(shown))
    text = data.decode("utf-8", "replace")
    redacted = redact_userinfo(redact_image(text))
    assert redact_userinfo(redacted) == redacted


TARGET_FUNCTIONS = {
    "scan_text": scan_text,
    "image_reference": image_reference,
    "docker_config": docker_config,
    "registry_keys": registry_keys,
    "cluster_json": cluster_json,
    "registry_headers": registry_headers,
}
# first-byte selection (no FUZZ_TARGET): the seeds (first bytes 0-4) keep their targets
TARGETS = (
    scan_text,
    scan_text,
    image_reference,
    docker_config,
    registry_keys,
    cluster_json,
    registry_headers,
)
PINNED = TARGET_FUNCTIONS.get(os.environ.get("FUZZ_TARGET", ""))


def test_one_input(data: bytes) -> None:
    if PINNED is not None:
        with contextlib.suppress(PullguardError):
            PINNED(data)
        return
    if not data:
        return
    target = TARGETS[data[0] % len(TARGETS)]
    with contextlib.suppress(PullguardError):
        target(data[1:])


def main() -> None:
    if os.environ.get("FUZZ_TARGET") and PINNED is None:
        sys.exit(f"FUZZ_TARGET must be one of {', '.join(TARGET_FUNCTIONS)}")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
