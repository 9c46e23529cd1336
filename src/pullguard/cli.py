"""The command line: wires sources, the pipeline and reporters together; nothing else.

Exit codes (all commands): 0 clean; 1 findings at or above --fail-on; 2 usage
error, unreadable input, or a document that could not be read.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

from pullguard import __version__
from pullguard import cli_options as opt
from pullguard.errors import PullguardError
from pullguard.report.formats import (
    Format,
    Report,
    TextOptions,
    check_supported,
    choose_format,
    render_clusters,
    render_scan,
    render_verify,
)

# Each command imports what it uses when it runs: `--version`, `checks` and `explain`
# start without the checks, the pipeline, YAML, rich, httpx or the Kubernetes client
# (tests/test_startup.py).
if TYPE_CHECKING:
    from pullguard.fleet import FleetResult
    from pullguard.result import ScanResult
    from pullguard.settings import ScanOptions

STDIN = "-"  # as pullguard.sources.files.STDIN
T = TypeVar("T")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = tuple(f.value for f in Format)

_SCAN_HELP = """Scan Kubernetes manifests for image pull credential problems.

PATH is a file, a directory (read recursively: .yaml, .yml, .json) or - for
standard input; with no PATH the current directory is scanned. Multi-document
YAML, `kind: List` and typed lists (`kubectl get -o yaml|json`), JSON streams,
UTF-8/UTF-16 with BOM and CRLF are read; render Helm charts and kustomize
overlays first (`helm template`, `kustomize build`).

Each private image is judged as the kubelet would: the pod's imagePullSecrets
(or, only when it declares none, its ServiceAccount's), matched per auths key
against the image's registry, then node credentials. The report starts with
"X of Y private images have pull credentials configured."

\b
Exit codes:
  0  no finding that breaks a pull nor at or above --fail-on, every
     document read
  1  a finding that breaks a pull (unless --no-fail-on-broken-pulls),
     or findings at or above --fail-on
  2  usage error, or input that could not be read (the findings of
     every readable document are still reported; --allow-input-errors
     keeps unreadable documents out of the exit code)

\b
Examples:
  pullguard scan manifests/
  helm template ./chart | pullguard scan -
  pullguard scan k8s/ --format sarif -o pullguard.sarif --fail-on medium
  pullguard scan . --private-registry '*.corp.example' --node-credentials '*.dkr.ecr.*.amazonaws.com'
"""


def _color_options(command: Callable[..., None]) -> Callable[..., None]:
    """--color auto|always|never (bare --color: always); NO_COLOR (no-color.org) is honoured in auto."""
    command = click.option(
        "--no-color", "no_color", is_flag=True, hidden=True, help="Same as --color never."
    )(command)
    return click.option(
        "--color",
        "color_mode",
        type=click.Choice(("auto", "always", "never")),  # report/console.py COLOR_MODES
        default=None,
        is_flag=False,
        flag_value="always",
        help="Colours: auto (on a terminal, unless NO_COLOR is set; the default), always, never.",
    )(command)


def _color(mode: str | None, no_color: bool) -> bool | None:
    from pullguard.report.console import color_flag  # not at start-up (`pullguard --version`)

    return False if no_color else color_flag(mode)


class _Commands(click.Group):
    """A group whose commands in other modules are imported only when they run (or --help
    lists them): `pullguard --version` and the other commands start without them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def add_lazy_command(self, name: str, target: str) -> None:
        """Register `name` as the click command `module:attribute`, imported when used."""
        self.lazy[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            import importlib

            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), self.lazy[cmd_name]
            self.add_command(command, cmd_name)
        return command


_MAIN_HELP = """pullguard: audit Kubernetes image pull credentials the way the kubelet uses them.

\b
Shell completion (bash; zsh_source and fish_source for the others):
  eval "$(_PULLGUARD_COMPLETE=bash_source pullguard)"
"""


@click.group(
    cls=_Commands,
    help=_MAIN_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="pullguard")
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar or other non-essential output on standard error."
)
def main(quiet: bool) -> None:
    tune_garbage_collector()


def tune_garbage_collector() -> None:
    """The process setting every command runs with (benchmarks apply it too). A scan allocates
    millions of short-lived, acyclic objects (YAML nodes); with the default thresholds the
    cyclic collector walks them thousands of times for nothing."""
    gc.set_threshold(50_000, 50, 1_000)


@main.command(help=_SCAN_HELP)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@opt.namespace_option(
    "Namespace for objects that do not name one; with --cluster, the namespace to read (as kubectl)."
)
@opt.report_options(FORMATS)
@opt.fail_on_option(
    "low",
    "Lowest security severity that makes the exit code 1. Findings that break a pull fail "
    "the run whatever their severity (see --no-fail-on-broken-pulls).",
)
@click.option(
    "--fail-on-broken-pulls/--no-fail-on-broken-pulls",
    "fail_on_broken_pulls",
    default=True,
    show_default=True,
    help="Exit 1 on any finding that breaks a pull (the pod would sit in ImagePullBackOff), "
    "whatever --fail-on says.",
)
@opt.visibility_options(
    "Registry pattern the nodes can pull from with their own identity or a credential provider."
)
@opt.kubernetes_version_option(
    "Kubelet version the files are judged for (e.g. v1.34): feature defaults follow it. Default: "
    "kubelet.kubernetesVersion in .pullguard.yaml; live clusters use each node's kubeletVersion."
)
@opt.disable_option()
@opt.config_options()
@click.option(
    "--max-age",
    "max_age_days",
    type=click.IntRange(1, 36500),
    metavar="DAYS",
    help="Maximum pull-secret credential age for PG005 (default: maxCredentialAgeDays, else 90).",
)
@opt.allow_input_errors_option()
@click.option(
    "--show-fixes",
    is_flag=True,
    help="Text format: after the findings, the fix plan per namespace and every other finding's fix, as commands to paste into a shell.",
)
@click.option(
    "--images", "show_images", is_flag=True, help="Text format: also list every image and its coverage."
)
@click.option(
    "--cluster",
    "live",
    is_flag=True,
    help="Scan the live cluster of the current kubeconfig context instead of files (read-only).",
)
@opt.context_option(
    "Kubeconfig context to scan (implies --cluster); repeat for a fleet, scanned concurrently. "
    "With PATHs, the manifests are judged against the context's secrets, ServiceAccounts, namespaces and nodes.",
    several=True,
)
@click.option(
    "--secrets-from-cluster",
    is_flag=True,
    help="With PATHs: take pull secrets, ServiceAccounts, namespaces and nodes from the current context's "
    "cluster (an object in the files replaces the cluster's of the same kind/namespace/name). Read-only.",
)
@opt.kubeconfig_option()
@click.option(
    "-A",
    "--all-namespaces",
    is_flag=True,
    help="With --cluster: read every namespace (else -n, or the context's).",
)
@click.option(
    "--no-secret-data",
    is_flag=True,
    help="With --cluster: never read secret data; pull secrets are known by name and type only "
    "(coverage by name, no registry match).",
)
@click.option(
    "--probe",
    is_flag=True,
    help="For images on registries of unknown visibility, try an anonymous pull (GET /v2/, token, manifest "
    "HEAD): public when it pulls, private when refused (401/403). Files only.",
)
@click.option(
    "--ca-file",
    "probe_ca_file",
    type=click.Path(exists=True, dir_okay=False),
    help="With --probe: also trust the CA certificates in this PEM file.",
)
@opt.connect_to_option("With --probe: as for `verify`.", dest="probe_connect_to")
@click.option(
    "--audit-log",
    "audit_logs",
    multiple=True,
    metavar="FILE",
    type=click.Path(allow_dash=True),
    help="Also judge who read the pull secrets in this API server audit log (PG040; see `pullguard audit-log`).",
)
@click.option(
    "--request-timeout",
    default="60s",
    show_default=True,
    metavar="DURATION",
    callback=lambda _c, _p, v: _duration(v, "--request-timeout"),
    help="With --cluster: time for one API request, answer included, as kubectl's (30s, 2m; 0: none).",
)
@click.option(
    "--deadline",
    default="30m",
    show_default=True,
    metavar="DURATION",
    callback=lambda _c, _p, v: _duration(v, "--deadline"),
    help="With --cluster: time for the whole scan; what was read by then is reported (PARTIAL).",
)
@_color_options
def scan(
    paths: tuple[str, ...],
    namespace: str,
    output_format: str,
    output: str,
    fail_on: str,
    fail_on_broken_pulls: bool,
    assume_private: bool,
    private_registries: tuple[str, ...],
    public_registries: tuple[str, ...],
    node_credentials: tuple[str, ...],
    kubernetes_version: str | None,
    disabled: tuple[str, ...],
    config_path: str | None,
    no_config: bool,
    max_age_days: int | None,
    allow_input_errors: bool,
    show_fixes: bool,
    show_images: bool,
    live: bool,
    contexts: tuple[str, ...],
    secrets_from_cluster: bool,
    kubeconfig: str | None,
    all_namespaces: bool,
    no_secret_data: bool,
    probe: bool,
    probe_ca_file: str | None,
    probe_connect_to: tuple[tuple[str, int | None, str, int], ...],
    audit_logs: tuple[str, ...],
    request_timeout: float,
    deadline: float,
    color_mode: str | None,
    no_color: bool,
) -> None:
    color = _color(color_mode, no_color)
    fmt = _guarded(lambda: choose_format(output_format, output))
    if STDIN in audit_logs and STDIN in paths:
        raise click.UsageError("standard input (-) holds either the manifests or the audit log")
    options = _options(
        paths,
        config_path,
        no_config,
        namespace=namespace,
        private_registries=private_registries,
        public_registries=public_registries,
        node_credentials=node_credentials,
        assume_private=assume_private,
        disabled=disabled,
        max_age_days=max_age_days,
        kubernetes_version=kubernetes_version,
    )
    text_options = TextOptions(color, show_fixes, show_images)
    cluster = live or bool(contexts) or secrets_from_cluster or kubeconfig is not None or all_namespaces
    cluster = cluster or no_secret_data
    if cluster:
        if probe:
            raise click.UsageError("--probe works on files, not with --cluster/--context")
        if secrets_from_cluster and not paths:
            raise click.UsageError("--secrets-from-cluster judges PATHs against the cluster: give the PATHs")
        if live and paths:
            raise click.UsageError(
                "scan either PATHs or a whole cluster (--cluster); to judge PATHs against a cluster use "
                "--context NAME or --secrets-from-cluster"
            )
        if STDIN in paths and len(contexts) > 1:
            raise click.UsageError("standard input can be judged against one cluster, not several")
        if audit_logs and len(contexts) > 1:
            raise click.UsageError("--audit-log is one cluster's log: give one --context")
        fleet = _scan_clusters(
            paths,
            contexts,
            kubeconfig,
            namespace,
            all_namespaces,
            no_secret_data,
            options,
            fmt,
            request_timeout=request_timeout,
            deadline=deadline,
        )
        if audit_logs:
            from pullguard.auditlog.command import audit_fleet

            _guarded(lambda: audit_fleet(fleet, audit_logs, options))
        _write(output, lambda out: render_clusters(fleet, fmt, out, text_options), styled=fmt is Format.TEXT)
        sys.exit(fleet_exit_code(fleet, fail_on, allow_input_errors, fail_on_broken_pulls))
    _guarded(lambda: check_supported(Report.SCAN, fmt))
    from pullguard.scan import scan_paths

    probe_with = None
    if probe:
        from pullguard.registry.client import ClientOptions
        from pullguard.registry.verify import probe_unknown

        client = ClientOptions(ca_file=probe_ca_file, connect_to=probe_connect_to)
        probe_with = partial(probe_unknown, options=client)
    with _progress() as progress:
        result = _guarded(lambda: scan_paths(list(paths) or ["."], options, progress, probe=probe_with))
    if audit_logs:
        from pullguard.auditlog.command import with_audit_logs

        result = _guarded(lambda: with_audit_logs(result, audit_logs, options))
    _write(output, lambda out: render_scan(result, fmt, out, text_options), styled=fmt is Format.TEXT)
    sys.exit(exit_code(result, fail_on, allow_input_errors, fail_on_broken_pulls))


def _options(
    paths: tuple[str, ...],
    config_path: str | None,
    no_config: bool,
    *,
    namespace: str,
    private_registries: tuple[str, ...] = (),
    public_registries: tuple[str, ...] = (),
    node_credentials: tuple[str, ...] = (),
    assume_private: bool = False,
    disabled: tuple[str, ...] = (),
    max_age_days: int | None = None,
    kubernetes_version: str | None = None,
) -> ScanOptions:
    """The one configuration of every command: `.pullguard.yaml` (or --config) and the flags, once."""
    from pullguard.checks import REGISTRY
    from pullguard.config import resolve_config, scan_options

    unknown = sorted(set(disabled) - set(REGISTRY))
    if unknown:
        raise click.BadParameter(
            f"unknown check {', '.join(unknown)}; see `pullguard checks`", param_hint="--disable"
        )
    config = _guarded(
        lambda: resolve_config(config_path, no_config, list(paths) or ["."], frozenset(REGISTRY))
    )
    return scan_options(
        config,
        default_namespace=namespace,
        private_patterns=private_registries,
        public_patterns=public_registries,
        node_patterns=node_credentials,
        assume_private=assume_private,
        disabled_checks=disabled,
        max_age_days=max_age_days,
        kubernetes_version=kubernetes_version,  # validated by the option's callback
    )


def _scan_clusters(
    paths: tuple[str, ...],
    contexts: tuple[str, ...],
    kubeconfig: str | None,
    namespace: str,
    all_namespaces: bool,
    no_secret_data: bool,
    options: ScanOptions,
    fmt: Format,
    *,
    request_timeout: float = 60.0,
    deadline: float = 1800.0,
) -> FleetResult:
    """Live clusters (one, or a fleet), or PATHs judged against each context's cluster."""
    from pullguard.fleet import scan_live
    from pullguard.scan import file_sources
    from pullguard.sources.cluster import ClusterOptions

    namespace_given = click.get_current_context().get_parameter_source("namespace")
    cluster_options = ClusterOptions(
        namespaces=(namespace,)
        if namespace_given is click.core.ParameterSource.COMMANDLINE and not paths
        else (),
        all_namespaces=all_namespaces or bool(paths),  # files may name any namespace
        secret_data=not no_secret_data,
        request_timeout=request_timeout,
        deadline=deadline or float("inf"),
    )
    if all_namespaces and namespace_given is click.core.ParameterSource.COMMANDLINE and not paths:
        raise click.UsageError("-n/--namespace and -A/--all-namespaces go apart")
    _guarded(lambda: check_supported(Report.FLEET if len(contexts) > 1 else Report.CLUSTERS, fmt))
    files = (lambda: file_sources(paths)) if paths else None
    return _guarded(
        lambda: scan_live(
            contexts or (None,), kubeconfig, cluster_options, options, single=len(contexts) <= 1, files=files
        )
    )


def _duration(value: str, flag: str) -> float:
    from pullguard.sources.bounded import parse_duration

    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=flag) from None


def fleet_exit_code(
    fleet: FleetResult, fail_on: str, allow_input_errors: bool, fail_on_broken_pulls: bool = True
) -> int:
    """As for files; a cluster that could not be scanned, or a partial read, is an input error (2)."""
    from pullguard.findings import Severity

    if any(c.result is None for c in fleet.clusters):
        return EXIT_ERROR
    codes = [
        exit_code(c.result, fail_on, allow_input_errors, fail_on_broken_pulls)
        for c in fleet.clusters
        if c.result is not None
    ]
    if EXIT_ERROR in codes:
        return EXIT_ERROR
    if fail_on != "never" and any(f.severity.rank >= Severity(fail_on).rank for f in fleet.reuse):
        return EXIT_FINDINGS
    return max(codes, default=EXIT_CLEAN)


def exit_code(
    result: ScanResult, fail_on: str, allow_input_errors: bool, fail_on_broken_pulls: bool = True
) -> int:
    """2 on input errors; 1 on a finding that breaks a pull, or one at or above --fail-on; else 0."""
    from pullguard.findings import Severity

    if result.summary.input_errors and not allow_input_errors:
        return EXIT_ERROR
    if fail_on_broken_pulls and any(f.breaks_pull for f in result.findings):
        return EXIT_FINDINGS
    if fail_on != "never":
        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_CLEAN


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@opt.namespace_option("Namespace for objects that do not name one.")
@opt.report_options(FORMATS)
@opt.fail_on_option(
    "never", "Also exit 1 for scan findings at or above this severity (pull failures always exit 1)."
)
@opt.config_options()
@click.option(
    "--cluster", "live", is_flag=True, help="Verify the images of the live cluster of the current context."
)
@opt.context_option(
    "Kubeconfig context to read (implies --cluster); with PATHs, the manifests are judged against it.",
    several=True,
)
@opt.kubeconfig_option()
@click.option("-A", "--all-namespaces", is_flag=True, help="With --cluster: every namespace.")
@opt.node_credentials_option(
    "Registry pattern the nodes pull from with their own identity; with --username, the credential is used for it."
)
@click.option(
    "--docker-config",
    "docker_configs",
    multiple=True,
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="A docker config.json (auths, credHelpers, credsStore) holding the nodes' credentials, tried after the pod's secrets.",
)
@click.option(
    "--username",
    metavar="USER",
    help="Node credential for the --node-credentials registries; the password is read with --password-stdin.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the --username password from standard input (never from the command line).",
)
@opt.registry_tls_options()
@opt.connect_to_option()
@opt.registry_timeout_option()
@click.option(
    "--connect-timeout",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    help="Seconds to open a connection.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(0.5, 86400),
    default=120.0,
    show_default=True,
    help="Seconds for the whole run; images not answered by then are unreachable.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 512),
    default=32,
    show_default=True,
    help="Requests in flight overall.",
)
@click.option(
    "--per-registry",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Requests in flight per registry host.",
)
@opt.allow_input_errors_option()
@_color_options
def verify(
    paths: tuple[str, ...],
    namespace: str,
    output_format: str,
    output: str,
    node_credentials: tuple[str, ...],
    docker_configs: tuple[str, ...],
    username: str | None,
    password_stdin: bool,
    ca_file: str | None,
    plain_http: tuple[str, ...],
    skip_tls_verify: tuple[str, ...],
    connect_to: tuple[tuple[str, int | None, str, int], ...],
    timeout: float,
    connect_timeout: float,
    deadline: float,
    concurrency: int,
    per_registry: int,
    allow_input_errors: bool,
    color_mode: str | None,
    no_color: bool,
    fail_on: str,
    config_path: str | None,
    no_config: bool,
    live: bool,
    contexts: tuple[str, ...],
    kubeconfig: str | None,
    all_namespaces: bool,
) -> None:
    """Ask the registries whether the credentials the kubelet would use can pull each image.

    PATH is read as by `scan` (files, directories, - for standard input). For
    every image the pod's matching pull-secret keys are tried in the kubelet's
    order, then the node credentials given here; the first that pulls wins, and
    when all fail the pull fails (the kubelet never falls back to anonymous).
    Images with no matching credential are checked anonymously. Each check is
    GET /v2/, a Basic or Bearer token login for repository:NAME:pull, and HEAD
    on the manifest: nothing is downloaded.

    \b
    Exit codes: 0 every checked image can be pulled; 1 some image would fail
    to pull; 2 usage error or unreadable input.

    \b
    Examples:
      pullguard verify k8s/
      pullguard verify k8s/ --docker-config ~/.docker/config.json --ca-file corp-ca.pem
      echo "$TOKEN" | pullguard verify k8s/ --node-credentials reg.corp.example --username ci --password-stdin
      pullguard verify k8s/ --connect-to reg.corp.example:10.0.0.5:443 --connect-to reg.corp.example:5000:127.0.0.1:5000
      pullguard verify --cluster -A -o verify.sarif
    """
    if password_stdin != (username is not None):
        raise click.UsageError("--username and --password-stdin go together")
    if username is not None and not node_credentials:
        raise click.UsageError(
            "--username needs --node-credentials PATTERN: the registries this credential is for"
        )
    if password_stdin and "-" in paths:
        raise click.UsageError("--password-stdin and reading manifests from - both need standard input")
    from pullguard.registry.client import ClientOptions
    from pullguard.registry.credentials import DockerConfigKeyring, NodeKeyring, login_from_stream
    from pullguard.registry.verify import VerifyOptions
    from pullguard.registry.verify import verify as verify_images

    node = NodeKeyring()
    if username is not None:
        login = _guarded(lambda: login_from_stream(username, sys.stdin))
        node.static += [(pattern, login) for pattern in node_credentials]
    node.docker_configs += [_guarded(partial(DockerConfigKeyring.load, path)) for path in docker_configs]
    options = VerifyOptions(
        client=ClientOptions(
            connect_timeout=connect_timeout,
            request_timeout=timeout,
            concurrency=concurrency,
            per_registry=per_registry,
            ca_file=ca_file,
            plain_http=frozenset(plain_http),
            skip_tls_verify=frozenset(skip_tls_verify),
            connect_to=connect_to,
        ),
        deadline=deadline,
        node=node,
    )
    fmt = _guarded(lambda: choose_format(output_format, output))
    _guarded(lambda: check_supported(Report.VERIFY, fmt))
    scan_options = _options(
        paths, config_path, no_config, namespace=namespace, node_credentials=node_credentials
    )
    if live or contexts or kubeconfig is not None or all_namespaces:
        if len(contexts) > 1:
            raise click.UsageError("verify reads one cluster at a time: give one --context")
        if live and paths:
            raise click.UsageError("verify either PATHs or the whole cluster (--cluster), not both")
        fleet = _scan_clusters(
            paths, contexts, kubeconfig, namespace, all_namespaces, False, scan_options, Format.JSON
        )
        only = fleet.clusters[0]
        if only.result is None:
            _fail(f"cluster {only.name}: {only.error}")
        scanned = only.result
    else:
        from pullguard.scan import scan_paths

        with _progress() as progress:
            scanned = _guarded(lambda: scan_paths(list(paths) or ["."], scan_options, progress))
    result = _guarded(lambda: verify_images(scanned, options))
    color = _color(color_mode, no_color)
    _write(
        output,
        lambda out: render_verify(result, fmt, out, TextOptions(color=color)),
        styled=fmt is Format.TEXT,
    )
    if scanned.summary.input_errors and not allow_input_errors:
        sys.exit(EXIT_ERROR)
    if result.failing:
        sys.exit(EXIT_FINDINGS)
    # the registries answered for every image: a finding's "breaks a pull" is superseded by that answer
    sys.exit(exit_code(scanned, fail_on, allow_input_errors, fail_on_broken_pulls=False))


@main.command()
@click.argument("target", metavar="POD|deploy/NAME")
@opt.namespace_option("Namespace of the pod (default: the context's).", default=None)
@opt.context_option()
@opt.kubeconfig_option()
@click.option(
    "-f", "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@opt.registry_tls_options()
@opt.registry_timeout_option()
@opt.config_options(
    "Configuration file (default: the nearest .pullguard.yaml in the current directory or above)."
)
def doctor(
    target: str,
    namespace: str | None,
    context: str | None,
    kubeconfig: str | None,
    output_format: str,
    ca_file: str | None,
    plain_http: tuple[str, ...],
    skip_tls_verify: tuple[str, ...],
    timeout: float,
    config_path: str | None,
    no_config: bool,
) -> None:
    """Why is a pod stuck in ErrImagePull / ImagePullBackOff, and what fixes it.

    Reads the pod's status and events, shows which pull secrets the kubelet
    tries for each failing image and in which order (the same resolution as
    `scan`), checks each credential against the registry (no layer is
    downloaded), and names the cause with the exact command that fixes it.
    deploy/NAME (or sts/NAME, ds/NAME) diagnoses the workload's failing pods, or its
    pod template when it has no pod.

    \b
    Exit codes: 0 the pod pulls fine; 1 a cause was found; 2 no cause could be
    told, or the cluster could not be read.

    \b
    Examples:
      pullguard doctor web-7c9f8d6b5-x2x9q -n shop
      pullguard doctor deploy/web -n shop --context prod
    """
    from pullguard.doctor import diagnose_target, render_text
    from pullguard.registry.client import ClientOptions
    from pullguard.sources.cluster import ClusterSource, connect

    connection = _guarded(lambda: connect(kubeconfig, context))
    source = ClusterSource(connection)
    where = namespace or connection.namespace
    options = ClientOptions(
        request_timeout=timeout,
        ca_file=ca_file,
        plain_http=frozenset(plain_http),
        skip_tls_verify=frozenset(skip_tls_verify),
    )
    scan_options = _options((), config_path, no_config, namespace=where or "default")
    diagnoses = _guarded(lambda: diagnose_target(source, where, target, options, scan_options))
    if output_format == "json":
        import json

        click.echo(
            json.dumps(
                [
                    {
                        "pod": {"namespace": d.pod.namespace, "name": d.pod.name},
                        "owner": {"kind": d.owner.kind, "namespace": d.owner.namespace, "name": d.owner.name},
                        "node": d.node,
                        "healthy": d.healthy,
                        "templateOnly": d.template_only,
                        "containers": [
                            {
                                "container": c.container,
                                "image": c.image,
                                "reason": c.reason,
                                "event": c.event,
                                "tries": [
                                    {
                                        "credential": t.source,
                                        "outcome": t.outcome.kind.value if t.outcome else None,
                                        "detail": t.outcome.detail if t.outcome else None,
                                    }
                                    for t in c.tries
                                ],
                                "cause": c.cause.name.lower().replace("_", "-"),
                                "explanation": c.explanation,
                                "fix": c.fix,
                                "notes": c.notes,
                            }
                            for c in d.containers
                        ],
                    }
                    for d in diagnoses
                ],
                indent=2,
            )
        )
    else:
        from pullguard.text_safety import neutralise

        click.echo(neutralise(render_text(diagnoses)), nl=False)
    sys.exit(max(d.exit_code for d in diagnoses))


@main.command("checks")
def list_checks() -> None:
    """List every check: id, severity, title and standards."""
    from pullguard.report import catalog

    catalog.print_table(sys.stdout, catalog.load())


@main.command()
@click.argument("check_id")
def explain(check_id: str) -> None:
    """Show the documentation of one check (e.g. PG001)."""
    from pullguard.report import catalog

    entry = catalog.load().get(check_id.upper())
    if entry is None:
        _fail(f"unknown check {check_id!r}; see `pullguard checks`")
    click.echo(entry.page)


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on standard error for long scans, only when it is a terminal and not --quiet."""
    if not sys.stderr.isatty() or _quiet():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("reading manifests"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None)

        def advance(done: int, total: int) -> None:
            if done % 50 == 0 or done == total - 1:
                bar.update(task, completed=done, total=total)

        yield advance


def _quiet() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("quiet"))


def kubectl_main() -> None:
    """`kubectl pullguard ...`: kubectl runs `kubectl-pullguard` from PATH as a plugin."""
    main(prog_name="kubectl pullguard", complete_var="_KUBECTL_PULLGUARD_COMPLETE")


def _write(output: str, write: Callable[[TextIO], None], styled: bool = True) -> None:
    """Render the whole report first (a failure never leaves an empty -o file), then write it."""
    from pullguard.report.sink import render_safely_parts

    if output == "-" and sys.stdout is None:  # started with standard output closed (`>&-`)
        _fail("standard output is closed: give -o FILE for the report")
    terminal = output == "-" and sys.stdout.isatty()
    parts = _guarded(lambda: render_safely_parts(write, terminal=terminal, styled=styled))
    if output == "-":
        sys.stdout.writelines(parts)
        sys.stdout.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.writelines(parts)
    except OSError as error:
        _fail(f"cannot write {output}: {error.strerror or error}")


def _guarded(work: Callable[[], T]) -> T:
    """Run the work; our own errors are printed (a line, a configuration's problems one per line)
    and exit 2, others no traceback unless asked."""
    try:
        return work()
    except PullguardError as error:
        _fail(error)
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as error:
        if os.environ.get("PULLGUARD_DEBUG"):
            traceback.print_exc()
        _fail(
            f"internal error ({type(error).__name__}); set PULLGUARD_DEBUG=1 for the traceback and report it"
        )


def _fail(message: str | PullguardError) -> NoReturn:
    from pullguard.errors import printed

    for line in printed(message):
        click.echo(line, err=True)
    sys.exit(EXIT_ERROR)


main.add_lazy_command("secret", "pullguard.secrets.cli:secret")
main.add_lazy_command("fix", "pullguard.fixer.cli:fix")
main.add_lazy_command("audit-log", "pullguard.auditlog.command:audit_log")
main.add_lazy_command("serve", "pullguard.serve.command:serve")
