"""Coverage-guided fuzzing (atheris) of everything that reads untrusted input.

`make fuzz` runs it: `python fuzz/fuzz_pullguard.py -runs=100000 -max_len=4096`.
The first byte picks a target; the rest is the input. A target may raise only
pullguard's own errors (PullguardError); anything else is a crash libFuzzer reports.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from pullguard.checks import REGISTRY
    from pullguard.errors import PullguardError
    from pullguard.inventory.build import InventoryBuilder
    from pullguard.inventory.kinds import needs_body
    from pullguard.inventory.resolve import resolve
    from pullguard.semantics.dockerconfig import decode_secret_value, parse_dockercfg, parse_dockerconfigjson
    from pullguard.semantics.imageref import parse_image
    from pullguard.semantics.keyring import key_matches, lookup, parse_registry_key
    from pullguard.semantics.registries import RegistryPolicy
    from pullguard.sources.model import InputProblem, ReadStats
    from pullguard.sources.yamldocs import DocumentReader, decode_text


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
    resolution = resolve(inventory, RegistryPolicy(node_patterns=("*.corp.example",)))
    for check in REGISTRY.values():
        list(check.run(resolution))


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


TARGETS = (scan_text, scan_text, image_reference, docker_config, registry_keys)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target = TARGETS[data[0] % len(TARGETS)]
    with contextlib.suppress(PullguardError):
        target(data[1:])


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
