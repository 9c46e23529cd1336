"""An option means the same in every command that has it (kubectl's generic flags are one
definition): same destination, type, multiplicity and flag-ness wherever it appears."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import click

from pullguard.cli import main

SHARED = (
    "--namespace",
    "--format",
    "--output",
    "--fail-on",
    "--config",
    "--no-config",
    "--kubeconfig",
    "--context",
    "--private-registry",
    "--public-registry",
    "--node-credentials",
    "--assume-private",
    "--disable",
    "--ca-file",
    "--plain-http",
    "--skip-tls-verify",
    "--connect-to",
    "--allow-input-errors",
)


def commands(group: click.Group, prefix: str = "pullguard") -> Iterator[tuple[str, click.Command]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command


def shape(option: click.Option) -> tuple[object, ...]:
    # --output of `secret` is `-o yaml` (a choice of what to print), not a report file: its own shape
    return (
        option.multiple,
        option.is_flag,
        type(option.type).__name__,
        option.count,
        option.callback is not None,
    )


def test_every_shared_option_has_one_shape() -> None:
    seen: dict[str, dict[tuple[object, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, command in commands(main):
        for param in command.params:
            if isinstance(param, click.Option):
                for flag in param.opts:
                    if flag in SHARED and not (flag == "--output" and name.startswith("pullguard secret")):
                        seen[flag][shape(param)].append(name)
    assert set(seen) >= {"--kubeconfig", "--config", "--fail-on", "--connect-to"}  # the walk found them
    mixed = {flag: dict(shapes) for flag, shapes in seen.items() if len(shapes) > 1}
    # --context is one context (doctor, secret, audit-log, serve) or a repeatable list (scan, verify: fleets)
    mixed.pop("--context", None)
    assert mixed == {}


def test_shared_options_keep_their_destinations() -> None:
    destinations: dict[str, set[str]] = defaultdict(set)
    for name, command in commands(main):
        for param in command.params:
            if isinstance(param, click.Option) and param.name:
                for flag in param.opts:
                    if flag in SHARED and not (flag == "--output" and name.startswith("pullguard secret")):
                        destinations[flag].add(param.name)
    assert destinations["--config"] == {"config_path"}
    assert destinations["--format"] == {"output_format"}
    assert destinations["--disable"] == {"disabled"}
    assert destinations["--private-registry"] == {"private_registries"}
    assert destinations["--kubeconfig"] == {"kubeconfig"}
