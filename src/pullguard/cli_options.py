"""Options several commands share, defined once, as kubectl's generic flags are: the same name,
type, destination and meaning in every command; a command passes only the help that differs.

Importing this module costs click alone (start-up: tests/test_startup.py); the callbacks
import what they need when an option is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]

SEVERITIES = ("info", "low", "medium", "high", "critical", "never")
KUBECONFIG_HELP = (
    "Kubeconfig file (default: $KUBECONFIG, which may list several files, else ~/.kube/config; "
    "in a pod, its ServiceAccount)."
)
CONTEXT_HELP = "Kubeconfig context (default: the current one)."
# the extensions are report.formats.SUFFIXES (tests/test_pipeline.py keeps this text true)
FORMAT_HELP = (
    "Report format. Default: text on standard output; with -o FILE, the format its extension names "
    "(.json, .sarif or .sarif.json, .html or .htm, .md or .markdown, .xml for junit, .txt for text). "
    "Any other extension is refused (exit 2): give -f."
)
CONFIG_HELP = "Configuration file (default: the nearest .pullguard.yaml in the scanned directory or above)."


def together(*decorators: Callable[[Any], Any]) -> Callable[[F], F]:
    """Several options as one decorator; --help lists them in the order given."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def parse_connect_to(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, int | None, str, int], ...]:
    """--connect-to HOST[:PORT]:CONNECT_HOST:CONNECT_PORT, as curl's."""
    if not values:  # click calls back for an option not given too: httpx only when it is used
        return ()
    from pullguard.registry.client import parse_connect_to as parse

    try:
        return tuple(parse(value) for value in values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


# -- reading input ---------------------------------------------------------------------------------


def namespace_option(help: str, default: str | None = "default") -> Callable[[F], F]:
    """-n/--namespace; default None: the kubeconfig context's namespace, decided by the command."""
    if default is None:
        return click.option("-n", "--namespace", help=help)
    return click.option("-n", "--namespace", default=default, show_default=True, help=help)


def config_options(help: str = CONFIG_HELP, must_exist: bool = False) -> Callable[[F], F]:
    """--config FILE and --no-config."""
    return together(
        click.option(
            "--config", "config_path", type=click.Path(dir_okay=False, exists=must_exist), help=help
        ),
        click.option("--no-config", is_flag=True, help="Ignore .pullguard.yaml files."),
    )


def allow_input_errors_option(what: str = "documents") -> Callable[[F], F]:
    return click.option(
        "--allow-input-errors",
        is_flag=True,
        help=f"Report unreadable {what} but do not let them set exit code 2.",
    )


def visibility_options(node_help: str) -> Callable[[F], F]:
    """Which registries are private or public, and which the nodes pull from themselves."""
    return together(
        click.option(
            "--assume-private",
            is_flag=True,
            help="Treat images on registries of unknown visibility as private.",
        ),
        click.option(
            "--private-registry",
            "private_registries",
            multiple=True,
            metavar="PATTERN",
            help="Registry pattern (auths-key syntax, e.g. '*.corp.example' or 'reg.io/team') that is private.",
        ),
        click.option(
            "--public-registry",
            "public_registries",
            multiple=True,
            metavar="PATTERN",
            help="Registry pattern whose images anyone can pull.",
        ),
        node_credentials_option(node_help),
    )


def node_credentials_option(help: str) -> Callable[[F], F]:
    return click.option("--node-credentials", "node_credentials", multiple=True, metavar="PATTERN", help=help)


def check_kubernetes_version(text: str | None) -> str | None:
    """A --kubernetes-version as given, once it parses (v1.34, 1.34.2)."""
    if text is not None:
        from pullguard.semantics.kubelet_versions import VersionError, parse_version

        try:
            parse_version(text)
        except VersionError as error:
            raise click.BadParameter(str(error), param_hint="--kubernetes-version") from None
    return text


def kubernetes_version_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--kubernetes-version",
        metavar="VERSION",
        callback=lambda _ctx, _param, value: check_kubernetes_version(value),
        help=help,
    )


def disable_option(help: str = "Do not run this check (e.g. PG004).") -> Callable[[F], F]:
    """--disable CHECK, repeatable; check ids in any case (pg004), given on in upper case."""
    return click.option(
        "--disable",
        "disabled",
        multiple=True,
        metavar="CHECK",
        callback=lambda _ctx, _param, value: tuple(check.strip().upper() for check in value),
        help=help,
    )


# -- the cluster -----------------------------------------------------------------------------------


def kubeconfig_option(help: str = KUBECONFIG_HELP) -> Callable[[F], F]:
    return click.option("--kubeconfig", type=click.Path(dir_okay=False), help=help)


def context_option(help: str = CONTEXT_HELP, *, several: bool = False) -> Callable[[F], F]:
    """--context; `several` (scan, verify) collects it into `contexts` (repeatable for a fleet)."""
    if several:
        return click.option("--context", "contexts", multiple=True, metavar="CONTEXT", help=help)
    return click.option("--context", metavar="CONTEXT", help=help)


# -- reports ---------------------------------------------------------------------------------------


def report_options(
    formats: Sequence[str],
    format_help: str = FORMAT_HELP,
    output_help: str = "Write the report to this file instead of standard output.",
) -> Callable[[F], F]:
    """-f/--format (None: inferred from -o's extension) and -o/--output (- : standard output)."""
    return together(
        click.option("-f", "--format", "output_format", type=click.Choice(tuple(formats)), help=format_help),
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, writable=True, allow_dash=True),
            default="-",
            help=output_help,
        ),
    )


def fail_on_option(default: str, help: str) -> Callable[[F], F]:
    return click.option(
        "--fail-on", type=click.Choice(SEVERITIES), default=default, show_default=True, help=help
    )


# -- registries ------------------------------------------------------------------------------------


def registry_tls_options(
    ca_help: str = "Also trust the CA certificates in this PEM file.",
) -> Callable[[F], F]:
    """--ca-file, --plain-http and --skip-tls-verify: how to speak to registries."""
    return together(
        click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help=ca_help),
        click.option(
            "--plain-http",
            multiple=True,
            metavar="REGISTRY",
            help="Speak plain HTTP to this registry (host[:port]).",
        ),
        click.option(
            "--skip-tls-verify",
            multiple=True,
            metavar="REGISTRY",
            help="Do not check this registry's certificate.",
        ),
    )


CONNECT_TO_HELP = (
    "As curl's --connect-to: requests for HOST:PORT (default port: 443, or 80 with --plain-http) "
    "connect to CONNECT_HOST:CONNECT_PORT instead (pings, token realms and manifests alike), while the "
    "Host header, TLS SNI and the certificate check keep HOST. For registries behind split DNS, mirrors, "
    "and tests. Repeatable; the first match wins."
)


def connect_to_option(help: str = CONNECT_TO_HELP, dest: str = "connect_to") -> Callable[[F], F]:
    return click.option(
        "--connect-to",
        dest,
        multiple=True,
        metavar="HOST[:PORT]:CONNECT_HOST:CONNECT_PORT",
        callback=parse_connect_to,
        help=help,
    )


def registry_timeout_option(
    help: str = "Seconds for one registry request, answer included.",
) -> Callable[[F], F]:
    return click.option(
        "--timeout", type=click.FloatRange(0.1, 600), default=15.0, show_default=True, help=help
    )
