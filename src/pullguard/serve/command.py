"""`pullguard serve`: the command, and the wiring of informers, judge, endpoints, reports and webhook."""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import click

from pullguard import cli_options as opt
from pullguard.checks import REGISTRY

log = logging.getLogger("pullguard.serve")

_HELP = """Keep judging a live cluster: metrics, PolicyReports and an admission guard.

Runs in the cluster (its ServiceAccount, see deploy/) or outside it (a
kubeconfig). Lists and watches the kinds `scan --cluster` reads, judges each
namespace again when something in it changes, and serves the result:

\b
  /metrics  on --metrics-bind-address       (Prometheus; see README "In the cluster")
  /healthz  and /readyz on --health-probe-bind-address
  PolicyReports (wgpolicyk8s.io/v1alpha2, or openreports.io/v1alpha1), when the CRD is installed:
            one per namespace, and a ClusterPolicyReport for cluster-scoped objects
  a validating admission webhook on --webhook-bind-address, with --webhook

Logs are JSON lines on standard error. SIGTERM or SIGINT stop it cleanly.

\b
Examples:
  pullguard serve --kubeconfig ~/.kube/config --metrics-bind-address 127.0.0.1:8080
  pullguard serve --webhook --webhook-cert-path /tls --policy-reports=auto
  pullguard serve --config /etc/pullguard/pullguard.yaml   # its kubelet: section, as for scan
  pullguard serve --watch-namespace shop,payments           # two namespaces, a Role in each
"""


@dataclass
class Server:
    """Everything one `serve` runs; `start()` then `wait()`, `stop()` from any thread."""

    client: Any
    options: Any
    metrics_address: tuple[str, int] | None
    probe_address: tuple[str, int] | None
    per_finding: bool = False
    resync_period: float = 600.0
    watch_timeout: float = 300.0
    page_size: int = 500
    webhook: Any = None  # WebhookSettings
    reports: str = "off"
    cluster_reports: bool | None = None  # also the cluster report; None: when its CRD is installed
    namespaces: tuple[str, ...] = ()  # --watch-namespace: only these (a Role in each), else the whole cluster
    leader_elect: bool = False
    verify_interval: float = 0.0  # 0: no registry checks
    verify_options: Any = None  # VerifyOptions
    leader_election_namespace: str | None = None
    lease_timings: tuple[float, float, float] = (15.0, 10.0, 2.0)  # duration, renew deadline, retry period
    stop_event: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        from pullguard.serve import endpoints, metrics
        from pullguard.serve.informer import Informer
        from pullguard.serve.judge import Judge
        from pullguard.serve.store import Store
        from pullguard.serve.watches import watched

        self.store = Store()
        self.judge = Judge(
            self.store, self.client, self.options, stop=self.stop_event, scope=frozenset(self.namespaces)
        )
        self.informers = [
            Informer(
                self.client,
                w,
                self.store.handler(w.tag),
                self.stop_event,
                page_size=self.page_size,
                watch_timeout=self.watch_timeout,
            )
            for w in watched(self.namespaces)
        ]
        self.registry_checks: Any = None
        if self.verify_interval > 0:
            from pullguard.registry.verify import VerifyOptions
            from pullguard.serve.registry_checks import RegistryChecks

            self.registry_checks = RegistryChecks(
                self.judge, self.verify_options or VerifyOptions(), self.verify_interval
            )
        self.registry, reflect = metrics.registry(
            self.judge, self.informers, self.per_finding, self.registry_checks
        )
        self.judge.reflect_observers.append(reflect.observe)
        self.ready = threading.Event()
        self.threads: list[threading.Thread] = []
        self.servers: list[Any] = []
        if self.metrics_address is not None:
            self.servers.append(
                endpoints.Endpoints(
                    self.metrics_address, {"/metrics": endpoints.metrics_route(self.registry)}
                )
            )
        if self.probe_address is not None:
            self.servers.append(
                endpoints.Endpoints(
                    self.probe_address,
                    {
                        "/healthz": endpoints.check_route(self.healthy),
                        "/readyz": endpoints.check_route(self.readiness),
                    },
                )
            )
        self.webhook_server: Any = None
        if self.webhook is not None:
            from pullguard.serve.webhook import WebhookServer

            self.webhook_server = WebhookServer(self.judge, self.webhook, self.ready)
        self.reporter: Any = None
        if self.reports != "off":
            from pullguard.serve.policyreport import Reporter, cluster_report_served

            if self.namespaces:
                self.cluster_reports = False  # a Role cannot grant a cluster-scoped kind
            if self.cluster_reports is None:
                self.cluster_reports = cluster_report_served(self.client, self.reports)
            self.reporter = Reporter(self.client, self.reports, cluster=self.cluster_reports)
            self.judge.listeners.append(self.reporter.changed)
        self.elector: Any = None
        if self.leader_elect:
            from pullguard.serve.leader import LeaderElector

            duration, deadline, retry = self.lease_timings
            self.elector = LeaderElector(
                self.client,
                self.leader_election_namespace or self.client.namespace,
                lease_duration=duration,
                renew_deadline=deadline,
                retry_period=retry,
            )
            if self.reporter is not None:
                self.reporter.leader = self.elector.leader
                self.elector.on_change = self.reporter.leading
            from prometheus_client import Gauge

            leader = self.elector.leader
            Gauge(
                "pullguard_leader",
                "1 while this replica holds the leader Lease (it writes the reports).",
                registry=self.registry,
            ).set_function(lambda: 1.0 if leader.is_set() else 0.0)

    # -- probes -------------------------------------------------------------------------

    def healthy(self) -> str | None:
        dead = [t.name for t in self.threads if not t.is_alive()]
        return f"stopped: {', '.join(dead)}" if dead and not self.stop_event.is_set() else None

    def readiness(self) -> str | None:
        if self.stop_event.is_set():
            return "shutting down"
        waiting = list(dict.fromkeys(i.name for i in self.informers if not i.synced.is_set()))
        if waiting:
            return f"waiting for the first list of: {', '.join(waiting)}"
        if not self.ready.is_set():
            return "first judgement not done"
        return None

    # -- life -----------------------------------------------------------------------------

    def start(self) -> None:
        for server in self.servers:
            server.start()
        if self.webhook_server is not None:
            self.webhook_server.start()
        for informer in self.informers:
            informer.start()
            assert informer._thread is not None
            self.threads.append(informer._thread)
        first = threading.Thread(target=self._first_judgement, name="judge", daemon=True)
        first.start()
        self.threads.append(first)
        resync = threading.Thread(target=self._resync, name="resync", daemon=True)
        resync.start()
        self.threads.append(resync)
        if self.reporter is not None:
            self.reporter.start(self.stop_event)
        if self.elector is not None:
            self.elector.start(self.stop_event)
        if self.registry_checks is not None:
            self.registry_checks.start(self.stop_event, self.ready)

    def _first_judgement(self) -> None:
        from pullguard.serve.informer import wait_synced

        while not wait_synced(self.informers, self.stop_event, 3600):
            if self.stop_event.is_set():
                return
        self.judge.unreadable_secrets = {
            i.watched.namespace for i in self.informers if i.forbidden and i.watched.tag == "secrets"
        }
        started = time.monotonic()
        dirty, _ = self.store.take_dirty(timeout=0)
        self.judge.judge({n: started for n in self.store.namespaces()} | dirty, True, observe=False)
        self.ready.set()
        snapshot = self.judge.snapshot
        log.info(
            "first judgement done",
            extra={
                "namespaces": len(snapshot.views),
                "findings": sum(1 for _ in snapshot.findings()),
                "seconds": round(time.monotonic() - started, 3),
                "objects": self.store.sizes()[0],
            },
        )
        self.judge.run(self.stop_event)

    def _resync(self) -> None:
        while not self.stop_event.wait(self.resync_period):
            self.store.mark_all_dirty()

    def stop(self) -> None:
        if self.stop_event.is_set():
            return
        log.info("shutting down")
        self.stop_event.set()
        self.client.close_all()
        if self.webhook_server is not None:
            self.webhook_server.stop()
        deadline = time.monotonic() + 10  # one bound for the whole shutdown, not one per thread
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.reporter is not None:
            self.reporter.join(max(0.0, deadline - time.monotonic()))
        if self.elector is not None:
            self.elector.join(max(0.0, deadline - time.monotonic()))  # it releases the Lease
        for server in self.servers:
            server.stop()
        self.stopped.set()

    def wait(self) -> None:
        while not self.stopped.wait(0.5):
            pass


@click.command("serve", help=_HELP)
@opt.kubeconfig_option()
@opt.context_option()
@click.option(
    "--watch-namespace",
    "namespaces",
    multiple=True,
    metavar="NAMESPACE[,NAMESPACE...]",
    help="Watch and judge only these namespaces (repeatable, or a comma list; controller-runtime's name), "
    "with a Role in each instead of a ClusterRole (deploy/overlays/namespaced). Namespaces, Nodes and "
    "cluster RBAC are then not read. Default: the whole cluster.",
)
@click.option(
    "--metrics-bind-address",
    default=":8080",
    show_default=True,
    metavar="ADDRESS",
    help="Where /metrics listens (HOST:PORT or :PORT); 0 turns it off.",
)
@click.option(
    "--health-probe-bind-address",
    default=":8081",
    show_default=True,
    metavar="ADDRESS",
    help="Where /healthz and /readyz listen; 0 turns them off.",
)
@click.option(
    "--metrics-findings",
    is_flag=True,
    help="Also export one pullguard_finding_info series per finding (more series: opt-in).",
)
@click.option(
    "--resync-period",
    type=click.FloatRange(1, 86400),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="Judge every namespace again this often (credential age and expiry move with the clock).",
)
@click.option("--webhook", is_flag=True, help="Serve the validating admission webhook (HTTPS).")
@click.option(
    "--webhook-bind-address",
    default=":9443",
    show_default=True,
    metavar="ADDRESS",
    help="Where the webhook listens.",
)
@click.option(
    "--webhook-cert-path",
    type=click.Path(file_okay=False),
    default="/tmp/k8s-webhook-server/serving-certs",
    show_default=True,
    help="Directory with the webhook's tls.crt and tls.key (a mounted Secret).",
)
@click.option(
    "--webhook-timeout",
    type=click.FloatRange(0.01, 10),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="Answer within this time; a judgement not done by then allows the object with a warning.",
)
@click.option(
    "--policy-reports",
    "policy_reports",
    type=click.Choice(["auto", "wgpolicyk8s", "openreports", "off"]),
    default="auto",
    show_default=True,
    help="Write one report per namespace: auto = wgpolicyk8s.io/v1alpha2 when its CRD is installed.",
)
@click.option(
    "--leader-elect",
    is_flag=True,
    help="Elect a leader through a coordination.k8s.io Lease: with more than one replica, only the "
    "leader writes PolicyReports (every replica serves metrics and the webhook).",
)
@click.option(
    "--leader-election-namespace",
    metavar="NAMESPACE",
    help="Namespace of the Lease 'pullguard-serve' (default: the pod's, or the context's).",
)
@click.option(
    "--verify-interval",
    type=click.FloatRange(0, 86400),
    default=0,
    show_default=True,
    metavar="SECONDS",
    help="Ask the registries this often whether each image pulls with the credentials the kubelet "
    "would use (as `verify`; 0: never). Outcomes in pullguard_registry_check.",
)
@click.option(
    "--verify-deadline",
    type=click.FloatRange(1, 3600),
    default=120,
    show_default=True,
    metavar="SECONDS",
    help="Bound of one registry check round; images not answered by then are unreachable.",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="With --verify-interval: also trust the CA certificates in this PEM file.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="A .pullguard.yaml (registries, node credentials, suppressions, severities, and the nodes' "
    "kubelet: credential providers, KubeletConfiguration, version); in the cluster, a mounted ConfigMap.",
)
@opt.kubernetes_version_option(
    "Kubelet version to judge for (e.g. v1.34): feature defaults follow it. Default: "
    "kubelet.kubernetesVersion of --config, else the oldest watched Node's kubeletVersion."
)
@opt.visibility_options("Registry pattern the nodes pull from with their own identity.")
@opt.disable_option()
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True
)
@click.option("--watch-timeout", type=click.FloatRange(1, 3600), default=300.0, hidden=True)
def serve(
    kubeconfig: str | None,
    context: str | None,
    namespaces: tuple[str, ...],
    metrics_bind_address: str,
    health_probe_bind_address: str,
    metrics_findings: bool,
    resync_period: float,
    webhook: bool,
    webhook_bind_address: str,
    webhook_cert_path: str,
    webhook_timeout: float,
    policy_reports: str,
    leader_elect: bool,
    leader_election_namespace: str | None,
    verify_interval: float,
    verify_deadline: float,
    ca_file: str | None,
    config_path: str | None,
    kubernetes_version: str | None,
    private_registries: tuple[str, ...],
    public_registries: tuple[str, ...],
    node_credentials: tuple[str, ...],
    assume_private: bool,
    disabled: tuple[str, ...],
    log_level: str,
    watch_timeout: float,
) -> None:
    from pullguard.errors import PullguardError, printed
    from pullguard.serve import logs
    from pullguard.serve.endpoints import parse_address
    from pullguard.serve.kube import KubeClient
    from pullguard.sources.cluster import connect

    logs.setup(log_level)
    unknown = sorted(set(disabled) - set(REGISTRY))
    if unknown:
        raise click.BadParameter(
            f"unknown check {', '.join(unknown)}; see `pullguard checks`", param_hint="--disable"
        )
    scope = _namespaces(namespaces)
    try:
        addresses = [
            parse_address(a) for a in (metrics_bind_address, health_probe_bind_address, webhook_bind_address)
        ]
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    try:
        options = serve_options(
            config_path,
            kubernetes_version=kubernetes_version,
            private_registries=private_registries,
            public_registries=public_registries,
            node_credentials=node_credentials,
            assume_private=assume_private,
            disabled=disabled,
        )
        connection = connect(kubeconfig, context)
        client = KubeClient(connection)
        webhook_settings = None
        if webhook:
            if addresses[2] is None:
                raise click.BadParameter("--webhook needs an address", param_hint="--webhook-bind-address")
            from pullguard.serve.webhook import WebhookSettings

            webhook_settings = WebhookSettings.from_cert_path(
                addresses[2], webhook_cert_path, webhook_timeout
            )
        reports = policy_reports
        if reports != "off":
            from pullguard.serve.policyreport import detect

            reports = detect(client, reports)
        server = Server(
            client,
            options,
            addresses[0],
            addresses[1],
            metrics_findings,
            resync_period,
            watch_timeout,
            webhook=webhook_settings,
            reports=reports,
            leader_elect=leader_elect,
            leader_election_namespace=leader_election_namespace,
            verify_interval=verify_interval,
            verify_options=_verify_options(verify_deadline, ca_file) if verify_interval else None,
            namespaces=scope,
        )
    except PullguardError as error:
        for line in printed(error):
            click.echo(line, err=True)
        sys.exit(2)
    except OSError as error:
        click.echo(f"pullguard: cannot listen: {error.strerror or error}", err=True)
        sys.exit(2)

    def on_signal(signum: int, _frame: Any) -> None:
        threading.Thread(target=server.stop, name="shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    log.info(
        "serving",
        extra={
            "cluster": connection.name,
            "server": client.server,
            "metrics": metrics_bind_address,
            "probes": health_probe_bind_address,
            "webhook": webhook_bind_address if webhook else "off",
            "policy_reports": reports,
            "namespaces": ",".join(scope) or "(all)",
        },
    )
    server.wait()
    log.info("stopped")
    sys.exit(0)


MAX_NAMESPACES = 64  # each costs one list+watch connection per kind: beyond, watch the cluster
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def _namespaces(given: tuple[str, ...]) -> tuple[str, ...]:
    """--watch-namespace values: repeatable and comma lists, each a namespace name (a DNS-1123 label)."""
    names = tuple(dict.fromkeys(n.strip() for value in given for n in value.split(",") if n.strip()))
    for name in names:
        if not _DNS_LABEL.fullmatch(name):
            raise click.BadParameter(
                f"{name!r} is not a namespace name (lower-case letters, digits and '-', at most 63)",
                param_hint="--watch-namespace",
            )
    if len(names) > MAX_NAMESPACES:
        raise click.BadParameter(
            f"{len(names)} namespaces; at most {MAX_NAMESPACES} (each is one watch per kind): "
            "watch the whole cluster instead",
            param_hint="--watch-namespace",
        )
    return names


def serve_options(
    config_path: str | None,
    *,
    kubernetes_version: str | None = None,
    private_registries: tuple[str, ...] = (),
    public_registries: tuple[str, ...] = (),
    node_credentials: tuple[str, ...] = (),
    assume_private: bool = False,
    disabled: tuple[str, ...] = (),
) -> Any:
    """The one ScanOptions of a `serve`, for the periodic judging and the webhook alike: the
    configuration file (with its `kubelet:` section, read as `scan` reads it) and the flags."""
    from pullguard.config import resolve_config, scan_options

    config = resolve_config(config_path, config_path is None, ["."], frozenset(REGISTRY))
    return scan_options(
        config,
        default_namespace="default",
        private_patterns=private_registries,
        public_patterns=public_registries,
        node_patterns=node_credentials,
        assume_private=assume_private,
        disabled_checks=disabled,
        max_age_days=None,
        kubernetes_version=opt.check_kubernetes_version(kubernetes_version),
    )


def _verify_options(deadline: float, ca_file: str | None) -> Any:
    from pullguard.registry.client import ClientOptions
    from pullguard.registry.verify import VerifyOptions

    return VerifyOptions(client=ClientOptions(ca_file=ca_file), deadline=deadline)
