"""The ``pullguard secret`` command group: create, attach, rotate, refresh."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from pullguard import cli_options as opt
from pullguard.errors import PullguardError, printed
from pullguard.secrets.plan import EXIT_ERROR, EXIT_OK, DryRun, Plan, Report

F = TypeVar("F", bound=Callable[..., Any])

GITOPS_NOTE = (
    "note: this YAML holds the credential base64-encoded, which is not encryption. Encrypt it before it "
    "reaches a repository (SOPS, Sealed Secrets' kubeseal) or keep the credential in a secret store and "
    "sync it with an ExternalSecret (External Secrets Operator); encrypting is your pipeline's job."
)

_GROUP_HELP = """Create, attach, rotate and refresh image pull secrets, safely.

\b
  create   a verified kubernetes.io/dockerconfigjson Secret
  attach   append it to a ServiceAccount or a workload's pod template
  rotate   swap in a new credential, verified first; --rollback restores
  refresh  renew short-lived tokens from a docker-credential-* helper

Passwords are never taken from the command line. Commands that could break
pulls (rotate, refresh, an attach that shadows a ServiceAccount's list) show
what they would do and write only with --apply. Every command accepts
--dry-run=server (the API server validates, stores nothing) and -o yaml (print
the objects for GitOps instead of writing them).

\b
Exit codes: 0 done (or nothing to do); 1 refused by the registry or a write
failed, nothing lost; 2 usage error or the cluster could not be read;
3 (refresh) a credential in place has expired.
"""


@click.group("secret", help=_GROUP_HELP)
def secret() -> None:
    pass


# -- shared options ------------------------------------------------------------------------------


def _refuse_argv_password(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from pullguard.secrets.sources import ARGV_REFUSAL

        raise click.UsageError(ARGV_REFUSAL)


cluster_options = opt.together(
    opt.namespace_option("Namespace (default: the context's).", default=None),
    opt.context_option(),
    opt.kubeconfig_option(),
)


write_options = opt.together(
    click.option(
        "--dry-run",
        "dry_run",
        type=click.Choice([d.value for d in DryRun]),
        is_flag=False,
        flag_value=DryRun.CLIENT.value,
        default=DryRun.NONE.value,
        help="client: print what would be written; server: send it with dryRun=All (validated, not stored).",
    ),
    click.option(
        "--apply",
        is_flag=True,
        help="Write changes that could break pulls (without it they are shown only).",
    ),
    click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(["yaml"]),
        help="Print the object(s) to commit (GitOps) instead of writing.",
    ),
)


registry_options = opt.together(
    click.option(
        "--no-verify",
        is_flag=True,
        help="Do not ask the registry whether it accepts the credential first.",
    ),
    click.option(
        "--image",
        "images",
        multiple=True,
        metavar="IMAGE",
        help="Also check that the credential can pull this image (repeatable).",
    ),
    opt.registry_tls_options(),
    opt.connect_to_option(
        "As curl's --connect-to, for registries behind split DNS or mirrors (see `pullguard verify --help`)."
    ),
    opt.registry_timeout_option(),
)


password_options = opt.together(
    click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line)."),
    click.option(
        "--password-file",
        type=click.Path(dir_okay=False),
        metavar="PATH",
        help="Read the password from this file.",
    ),
    click.option("--password-env", metavar="VAR", help="Read the password from this environment variable."),
    click.option(
        "--credential-helper",
        metavar="NAME",
        help="Get username and password from docker-credential-NAME (ecr-login, gcr, acr-env, …).",
    ),
    click.option(
        "-p",
        "--password",
        hidden=True,
        expose_value=False,
        is_eager=True,
        callback=_refuse_argv_password,
        help="Refused: see --password-stdin.",
    ),
)


def guarded(function: F) -> F:
    @wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except PullguardError as error:
            _fail(error)
        except KeyboardInterrupt:
            _fail("interrupted")

    return run  # type: ignore[return-value]


def _fail(message: str | PullguardError) -> NoReturn:
    for line in printed(message):
        click.echo(line, err=True)
    sys.exit(EXIT_ERROR)


def _client_options(kwargs: dict[str, Any]) -> Any:
    from pullguard.registry.client import ClientOptions

    return ClientOptions(
        request_timeout=kwargs["timeout"],
        ca_file=kwargs["ca_file"],
        plain_http=frozenset(kwargs["plain_http"]),
        skip_tls_verify=frozenset(kwargs["skip_tls_verify"]),
        connect_to=kwargs["connect_to"],
        retries=1,
    )


def _api(kubeconfig: str | None, context: str | None) -> Any:
    from pullguard.secrets.kube import KubeApi
    from pullguard.sources.cluster import connect

    return KubeApi(connect(kubeconfig, context))


def _namespace(namespace: str | None, api: Any) -> str:
    return namespace or (api.connection.namespace if api is not None else "default")


def _print_yaml(objects: list[dict[str, Any]], holds_credential: bool) -> None:
    import yaml

    if holds_credential and sys.stdout.isatty():
        _fail(
            "-o yaml would print a credential to the terminal: redirect it to a file or pipe it into an "
            "encrypter (sops --encrypt, kubeseal)"
        )
    text = yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)
    click.echo(text, nl=False)
    if holds_credential:
        click.echo(GITOPS_NOTE, err=True)


def _run(plan: Plan, dry_run: str, apply: bool, output: str | None, holds_credential: bool) -> NoReturn:
    """Show the plan, then write it as the options say."""
    for warning in plan.warnings:
        click.echo(warning, err=True)
    if output == "yaml":
        for line in plan.summary:
            click.echo(line, err=True)
        if plan.code != EXIT_OK:
            sys.exit(plan.code)
        _print_yaml(plan.objects, holds_credential)
        sys.exit(EXIT_OK)
    for line in plan.summary:
        click.echo(line)
    if plan.execute is None:
        sys.exit(plan.code)
    if dry_run == DryRun.CLIENT:
        click.echo("Dry run (client): nothing was sent to the cluster.")
        sys.exit(EXIT_OK)
    server = dry_run == DryRun.SERVER
    if plan.risky and not apply and not server:
        if sys.stdin.isatty() and sys.stdout.isatty():
            if not click.confirm("Apply this change?", default=False):
                click.echo("Nothing was written.")
                sys.exit(EXIT_OK)
        else:
            click.echo(
                "Dry run: nothing was written. A mistake here breaks pulls: re-run with --apply to write."
            )
            sys.exit(EXIT_OK)
    report = plan.execute(server)
    _show(report)
    sys.exit(report.code)


def _show(report: Report) -> None:
    for warning in report.warnings:
        click.echo(warning, err=True)
    for line in report.lines:
        click.echo(line)


# -- create ------------------------------------------------------------------------------------


@secret.command("create")
@click.argument("name")
@click.option(
    "--registry",
    required=True,
    metavar="HOST[:PORT]",
    help="The registry, as images name it (the auths key).",
)
@click.option("--username", help="Registry username (not with --credential-helper).")
@password_options
@cluster_options
@registry_options
@write_options
@guarded
def create_command(name: str, registry: str, username: str | None, **kwargs: Any) -> None:
    """Create a kubernetes.io/dockerconfigjson pull secret, verified against the registry first.

    \b
    Examples:
      echo "$TOKEN" | pullguard secret create regcred -n shop --registry registry.example.com --username ci --password-stdin
      pullguard secret create ecr -n shop --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com --credential-helper ecr-login
      pullguard secret create regcred -n shop --registry r.example --username ci --password-file pw.txt -o yaml | kubeseal -o yaml
    """
    from pullguard.secrets.create import plan_create
    from pullguard.secrets.sources import PasswordSource, helper_credential, static_credential

    source = PasswordSource(
        kwargs["password_stdin"], kwargs["password_file"], kwargs["password_env"], kwargs["credential_helper"]
    )
    if source.helper is not None and len(source.chosen()) == 1:
        if username:
            raise click.UsageError("--username comes from the credential helper; do not give both")
        new = helper_credential(source.helper, registry)
    else:
        new = static_credential(registry, username or "", source)
    offline = kwargs["output"] == "yaml" or kwargs["dry_run"] == DryRun.CLIENT
    if offline:  # no request is made; the kubeconfig still names the namespace, as for kubectl
        try:
            api = _api(kwargs["kubeconfig"], kwargs["context"])
        except PullguardError:
            api = None  # GitOps without a cluster: -n or "default"
    else:
        api = _api(kwargs["kubeconfig"], kwargs["context"])
    if api is not None:
        api.hide(new.credential.password)
    namespace = _namespace(kwargs["namespace"], api)
    plan = plan_create(
        api, name, namespace, new, kwargs["images"], _client_options(kwargs), verify=not kwargs["no_verify"]
    )
    _run(plan, kwargs["dry_run"], kwargs["apply"], kwargs["output"], holds_credential=True)


# -- attach ------------------------------------------------------------------------------------


@secret.command("attach")
@click.argument("name")
@click.option(
    "--serviceaccount",
    "serviceaccount",
    metavar="SA",
    help="Append to this ServiceAccount's imagePullSecrets.",
)
@click.option(
    "--workload",
    metavar="KIND/NAME",
    help="Append to this workload's pod template (deployment/web, sts/db, cronjob/nightly).",
)
@cluster_options
@write_options
@guarded
def attach_command(name: str, serviceaccount: str | None, workload: str | None, **kwargs: Any) -> None:
    """Append pull secret NAME to a ServiceAccount or a workload's pod template.

    Appends with a JSON patch carrying the resourceVersion that was read (409
    Conflict: read again, never overwrite); attaching twice is a no-op. Never
    use `kubectl patch serviceaccount … -p '{"imagePullSecrets": …}'` for this:
    a strategic merge patch replaces a ServiceAccount's whole list.

    \b
    Examples:
      pullguard secret attach regcred -n shop --serviceaccount default
      pullguard secret attach regcred -n shop --workload deployment/web --apply
    """
    from pullguard.secrets.attach import plan_attach_serviceaccount, plan_attach_workload

    if (serviceaccount is None) == (workload is None):
        raise click.UsageError("give exactly one of --serviceaccount SA or --workload KIND/NAME")
    api = _api(kwargs["kubeconfig"], kwargs["context"])
    namespace = _namespace(kwargs["namespace"], api)
    if serviceaccount is not None:
        plan = plan_attach_serviceaccount(api, namespace, name, serviceaccount)
    else:
        assert workload is not None
        plan = plan_attach_workload(api, namespace, name, workload)
    _run(plan, kwargs["dry_run"], kwargs["apply"], kwargs["output"], holds_credential=False)


# -- rotate ------------------------------------------------------------------------------------


@secret.command("rotate")
@click.argument("name")
@click.option(
    "--registry",
    "registries",
    multiple=True,
    metavar="KEY",
    help="The auths entry to rotate (needed when the secret covers several).",
)
@click.option("--username", help="New username (default: keep the current one).")
@click.option(
    "--rollback", is_flag=True, help="Swap back to the previous credential kept by the last rotation."
)
@click.option(
    "--verify-after",
    is_flag=True,
    help="After the swap, read the secret back and check it against the registries.",
)
@password_options
@cluster_options
@registry_options
@write_options
@guarded
def rotate_command(
    name: str,
    registries: tuple[str, ...],
    username: str | None,
    rollback: bool,
    verify_after: bool,
    **kwargs: Any,
) -> None:
    """Replace a pull secret's credential, verified against every registry it covers first.

    The previous credential stays in the same Secret (data key
    .dockerconfigjson.previous) until the next rotation: --rollback brings it
    back. Shown with values masked; written only with --apply.

    \b
    Examples:
      pullguard secret rotate regcred -n shop --password-file new.txt            # show
      pullguard secret rotate regcred -n shop --password-file new.txt --apply    # write
      pullguard secret rotate regcred -n shop --rollback --apply
    """
    from pullguard.registry.credentials import credential_expiry
    from pullguard.secrets.rotate import plan_rollback, plan_rotate
    from pullguard.secrets.sources import NewCredential, PasswordSource, helper_credential, read_password
    from pullguard.semantics.dockerconfig import Credential

    api = _api(kwargs["kubeconfig"], kwargs["context"])
    namespace = _namespace(kwargs["namespace"], api)
    options = _client_options(kwargs)
    if rollback:
        source_given = any(
            (
                kwargs["password_stdin"],
                kwargs["password_file"],
                kwargs["password_env"],
                kwargs["credential_helper"],
            )
        )
        if source_given or username:
            raise click.UsageError(
                "--rollback restores the kept credential: give no new password or username"
            )
        plan = plan_rollback(api, name, namespace, kwargs["images"], options, verify=not kwargs["no_verify"])
        _run(plan, kwargs["dry_run"], kwargs["apply"], kwargs["output"], holds_credential=True)
    source = PasswordSource(
        kwargs["password_stdin"], kwargs["password_file"], kwargs["password_env"], kwargs["credential_helper"]
    )
    if source.helper is not None and len(source.chosen()) == 1:
        if username:
            raise click.UsageError("--username comes from the credential helper; do not give both")
        helper = source.helper

        def obtain(key: str, current_username: str) -> NewCredential:
            return helper_credential(helper, key)

    else:
        password, where = read_password(source)  # one password for every rotated entry

        def obtain(key: str, current_username: str) -> NewCredential:
            credential = Credential(username or current_username, password)
            return NewCredential(key, credential, where, credential_expiry(credential))

    plan = plan_rotate(
        api,
        name,
        namespace,
        obtain,
        registries,
        kwargs["images"],
        options,
        verify=not kwargs["no_verify"],
        verify_after=verify_after,
    )
    _run(plan, kwargs["dry_run"], kwargs["apply"], kwargs["output"], holds_credential=True)


# -- refresh -----------------------------------------------------------------------------------


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if match is None:
        raise click.BadParameter(f"{value!r}: a duration like 90s, 30m, 12h or 1d")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


@secret.command("refresh")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--credential-helper",
    "helper",
    required=True,
    metavar="NAME",
    help="docker-credential-NAME gives the fresh token (ecr-login, gcr, acr-env, …).",
)
@click.option(
    "--registry",
    "registries",
    multiple=True,
    metavar="KEY",
    help="Refresh only this auths entry; creates a missing NAME with it.",
)
@click.option("-l", "--selector", help="Refresh every dockerconfigjson Secret with these labels (k=v,…).")
@click.option("-A", "--all-namespaces", is_flag=True, help="With --selector: in every namespace.")
@click.option("--loop", is_flag=True, help="Keep running: renew at a safe fraction of each token's lifetime.")
@click.option(
    "--renew-before",
    callback=_duration,
    default="30m",
    show_default=True,
    help="Renew at least this long before expiry.",
)
@click.option(
    "--token-lifetime",
    callback=_duration,
    default="12h",
    show_default=True,
    help="Lifetime assumed when the token does not say.",
)
@click.option(
    "--min-interval",
    callback=_duration,
    default="60s",
    show_default=True,
    help="Never refresh more often than this.",
)
@click.option("--max-runs", type=int, hidden=True, help="Stop --loop after this many runs (tests).")
@cluster_options
@registry_options
@write_options
@guarded
def refresh_command(
    names: tuple[str, ...],
    helper: str,
    registries: tuple[str, ...],
    selector: str | None,
    all_namespaces: bool,
    loop: bool,
    **kwargs: Any,
) -> None:
    """Renew short-lived registry tokens (ECR 12 h, GCR, ACR) from a Docker credential helper.

    One run asks the helper once per registry, checks the fresh token against
    the registry, then writes each Secret with its resourceVersion (a conflict
    is read again, never overwritten). Use it one-shot from a CronJob
    (deploy/secret-refresh) or with --loop. Writes only with --apply.

    \b
    Exit codes: 0 refreshed; 1 a refresh failed but the credentials in place
    have not expired; 2 usage or cluster error; 3 a refresh failed and a
    credential in place has expired (pulls fail now).

    \b
    Examples:
      pullguard secret refresh ecr-pull -n shop --credential-helper ecr-login --apply
      pullguard secret refresh ecr-pull -n shop --credential-helper ecr-login --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com --apply
      pullguard secret refresh -A -l pullguard.io/refresh=ecr --credential-helper ecr-login --loop --apply
    """
    from pullguard.secrets.refresh import RefreshOptions, next_delay, refresh_once, retry_delay
    from pullguard.secrets.sources import helper_credential

    if kwargs["output"] == "yaml":
        raise click.UsageError(
            "refresh writes tokens that expire within hours: -o yaml is for create, attach and rotate"
        )
    if names and selector:
        raise click.UsageError("give Secret names or --selector, not both")
    if all_namespaces and not selector:
        raise click.UsageError("-A/--all-namespaces needs --selector")
    api = _api(kwargs["kubeconfig"], kwargs["context"])
    options = RefreshOptions(
        helper=helper,
        names=names,
        namespace=_namespace(kwargs["namespace"], api),
        all_namespaces=all_namespaces,
        selector=selector,
        registries=registries,
        images=kwargs["images"],
        verify=not kwargs["no_verify"],
        token_lifetime=kwargs["token_lifetime"],
        client=_client_options(kwargs),
    )
    dry_run = kwargs["dry_run"]
    client_dry = dry_run == DryRun.CLIENT or (dry_run == DryRun.NONE and not kwargs["apply"])
    server_dry = dry_run == DryRun.SERVER

    def obtain(key: str) -> Any:
        from pullguard.secrets.check import registry_of_key

        return helper_credential(helper, registry_of_key(key) if "://" in key else key)

    def once() -> tuple[Report, float | None]:
        try:
            return refresh_once(api, options, obtain, server_dry_run=server_dry, client_dry_run=client_dry)
        except PullguardError as error:
            return Report(lines=printed(error), code=EXIT_ERROR), None

    if not loop:
        report, _ = once()
        _show(report)
        if client_dry and dry_run == DryRun.NONE:
            click.echo("Dry run: nothing was written. Re-run with --apply to write.")
        sys.exit(report.code)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    failures, runs, last_expiry, code = 0, 0, None, EXIT_OK
    while not stop.is_set():
        report, expiry = once()
        runs += 1
        code = report.code
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for warning in report.warnings:
            click.echo(f"{stamp} {warning}", err=True)
        for line in report.lines:
            click.echo(f"{stamp} {line}")
        now = time.time()
        if report.code == EXIT_OK and expiry is not None:
            failures, last_expiry = 0, expiry
            delay = next_delay(expiry - now, kwargs["renew_before"], kwargs["min_interval"])
        else:
            failures += 1
            remaining = (last_expiry - now) if last_expiry is not None else None
            delay = retry_delay(failures, remaining, kwargs["min_interval"])
        if kwargs["max_runs"] is not None and runs >= kwargs["max_runs"]:
            break
        click.echo(f"{stamp} next refresh in {delay:.0f}s", err=True)
        stop.wait(delay)
    sys.exit(code if kwargs["max_runs"] is not None else EXIT_OK)
