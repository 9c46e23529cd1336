"""The command line: wires sources, the pipeline and reporters together; nothing else.

Exit codes (all commands): 0 clean; 1 findings at or above --fail-on; 2 usage
error, unreadable input, or a document that could not be read.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TextIO, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pullguard import __version__
from pullguard.checks import REGISTRY, Severity
from pullguard.errors import PullguardError
from pullguard.report import catalog, json_report, sarif, text
from pullguard.scan import ScanOptions, ScanResult, scan_paths

T = TypeVar("T")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "sarif")
FAIL_ON = ("info", "low", "medium", "high", "critical", "never")

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
  0  no finding at or above --fail-on, every document read
  1  findings at or above --fail-on
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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="pullguard")
def main() -> None:
    """pullguard: audit Kubernetes image pull credentials the way the kubelet uses them."""


@main.command(help=_SCAN_HELP)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "-n",
    "--namespace",
    default="default",
    show_default=True,
    help="Namespace for objects that do not name one.",
)
@click.option(
    "-f", "--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="low",
    show_default=True,
    help="Lowest finding severity that makes the exit code 1.",
)
@click.option(
    "--assume-private", is_flag=True, help="Treat images on registries of unknown visibility as private."
)
@click.option(
    "--private-registry",
    "private_registries",
    multiple=True,
    metavar="PATTERN",
    help="Registry pattern (auths-key syntax, e.g. '*.corp.example' or 'reg.io/team') that is private.",
)
@click.option(
    "--public-registry",
    "public_registries",
    multiple=True,
    metavar="PATTERN",
    help="Registry pattern whose images anyone can pull.",
)
@click.option(
    "--node-credentials",
    "node_credentials",
    multiple=True,
    metavar="PATTERN",
    help="Registry pattern the nodes can pull from with their own identity or a credential provider.",
)
@click.option(
    "--disable", "disabled", multiple=True, metavar="CHECK", help="Do not run this check (e.g. PG004)."
)
@click.option(
    "--allow-input-errors",
    is_flag=True,
    help="Report unreadable documents but do not let them set exit code 2.",
)
@click.option("--show-fixes", is_flag=True, help="Text format: print the exact fix under each finding.")
@click.option(
    "--images", "show_images", is_flag=True, help="Text format: also list every image and its coverage."
)
@click.option("--color/--no-color", default=None, help="Force or disable colors (default: when a terminal).")
def scan(
    paths: tuple[str, ...],
    namespace: str,
    output_format: str,
    output: str,
    fail_on: str,
    assume_private: bool,
    private_registries: tuple[str, ...],
    public_registries: tuple[str, ...],
    node_credentials: tuple[str, ...],
    disabled: tuple[str, ...],
    allow_input_errors: bool,
    show_fixes: bool,
    show_images: bool,
    color: bool | None,
) -> None:
    unknown = sorted(set(disabled) - set(REGISTRY))
    if unknown:
        raise click.BadParameter(
            f"unknown check {', '.join(unknown)}; see `pullguard checks`", param_hint="--disable"
        )
    options = ScanOptions(
        default_namespace=namespace,
        private_patterns=private_registries,
        public_patterns=public_registries,
        node_patterns=node_credentials,
        assume_private=assume_private,
        disabled_checks=frozenset(disabled),
    )
    with _progress() as progress:
        result = _guarded(lambda: scan_paths(list(paths) or ["."], options, progress))
    _write(output, lambda out: _render(result, output_format, out, color, show_fixes, show_images))
    sys.exit(exit_code(result, fail_on, allow_input_errors))


def exit_code(result: ScanResult, fail_on: str, allow_input_errors: bool) -> int:
    if result.summary.input_errors and not allow_input_errors:
        return EXIT_ERROR
    if fail_on != "never":
        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_CLEAN


@main.command("checks")
def list_checks() -> None:
    """List every check: id, severity and title."""
    catalog.print_table(sys.stdout)


@main.command()
@click.argument("check_id")
def explain(check_id: str) -> None:
    """Show the documentation of one check (e.g. PG001)."""
    check = REGISTRY.get(check_id.upper())
    if check is None:
        _fail(f"unknown check {check_id!r}; see `pullguard checks`")
    click.echo(catalog.docs_page(check.info))


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on standard error for long scans, only when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
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


def _render(
    result: ScanResult,
    output_format: str,
    out: TextIO,
    color: bool | None,
    show_fixes: bool,
    show_images: bool,
) -> None:
    if output_format == "json":
        json_report.write(result, out)
    elif output_format == "sarif":
        out.write(sarif.render(result))
    else:
        text.render(result, out, color=color, show_fixes=show_fixes, show_images=show_images)


def _write(output: str, write: Callable[[TextIO], None]) -> None:
    if output == "-":
        write(sys.stdout)
        return
    try:
        with Path(output).open("w", encoding="utf-8") as handle:
            write(handle)
    except OSError as error:
        _fail(f"cannot write {output}: {error.strerror or error}")


def _guarded(work: Callable[[], T]) -> T:
    """Run the work; our own errors become one line and exit 2, others no traceback unless asked."""
    try:
        return work()
    except PullguardError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as error:
        if os.environ.get("PULLGUARD_DEBUG"):
            traceback.print_exc()
        _fail(
            f"internal error ({type(error).__name__}); set PULLGUARD_DEBUG=1 for the traceback and report it"
        )


def _fail(message: str) -> NoReturn:
    click.echo(f"pullguard: {message}", err=True)
    sys.exit(EXIT_ERROR)
