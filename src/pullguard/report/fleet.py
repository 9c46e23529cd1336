"""Reports of live-cluster scans: one section per cluster (the usual report), then the fleet.

- text: per cluster a heading (server, scope, objects read, requests, time) and
  the usual text report; with several clusters, the fleet summary line and the
  cross-cluster findings (PG007).
- json: with one cluster, the usual report plus a ``cluster`` object; with
  several, ``{"fleet": {...}, "clusters": {NAME: <usual report>}}``.
- sarif: one run per cluster (plus one for cross-cluster findings).
"""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from rich.text import Text

from pullguard.report import json_report, sarif, text
from pullguard.report.console import make_console, plural
from pullguard.result import ClusterScan, FleetResult
from pullguard.text_safety import neutralise


def render_text(
    fleet: FleetResult,
    out: TextIO,
    *,
    color: bool | None = None,
    show_fixes: bool = False,
    show_images: bool = False,
) -> None:
    console = make_console(out, color)  # NO_COLOR, --color; never wraps nor pads (text.render wraps)
    several = len(fleet.clusters) > 1
    if several:
        console.print(Text(fleet.headline, style="bold"))
        for cluster in fleet.clusters:
            console.print("  " + cluster.headline, style="red" if cluster.result is None else None)
        console.print()
    for cluster in fleet.clusters:
        console.print(Text(neutralise(_heading(cluster)), style="bold reverse" if several else "bold"))
        if cluster.result is None:
            console.print(f"not scanned: {cluster.error}", style="red")
        else:
            if cluster.partial:
                console.print(
                    "PARTIAL RESULT: some namespaces or resources could not be read (see input problems).",
                    style="bold red",
                )
            out.flush()
            text.render(cluster.result, out, color=color, show_fixes=show_fixes, show_images=show_images)
        console.print()
    if several:
        console.print(
            Text(
                f"Across clusters ({'keyed' if fleet.fingerprints_keyed else 'per-run'} fingerprints): "
                f"{plural(len(fleet.reuse), 'finding')}",
                style="bold",
            )
        )
        for finding in fleet.reuse:
            console.print(
                Text.assemble(
                    (f"{finding.severity.value:8}", "yellow"),
                    f" {finding.check_id} {finding.cluster}: {finding.object}",
                )
            )
            console.print(f"    {finding.message}", soft_wrap=True)
            if show_fixes:
                console.print(f"    fix: {finding.remediation}", style="dim", soft_wrap=True)


def _heading(cluster: ClusterScan) -> str:
    if cluster.result is None:
        return f"cluster {cluster.name}"
    live = cluster.live
    return (
        f"cluster {cluster.name} ({cluster.server}, {cluster.scope}): {plural(live.pods, 'pod')} as "
        f"{plural(live.pod_templates_from_pods, 'distinct pod template')}, {plural(live.workloads, 'workload')} "
        f"({live.workloads_without_pods} without pods, judged from their template), {plural(live.nodes, 'node')}"
        + (f" ({cluster.platform.name})" if cluster.platform else "")
        + f"; {plural(cluster.requests, 'API request')} in {cluster.elapsed:.1f} s"
    )


def _cluster_info(cluster: ClusterScan) -> dict[str, Any]:
    live = cluster.live
    info: dict[str, Any] = {
        "name": cluster.name,
        "server": cluster.server,
        "scope": cluster.scope,
        "line": cluster.headline,
        "error": cluster.error,
        "partial": cluster.partial,
        "platform": cluster.platform.name if cluster.platform else None,
        "pods": live.pods,
        "podTemplatesFromPods": live.pod_templates_from_pods,
        "workloads": live.workloads,
        "workloadsWithoutPods": live.workloads_without_pods,
        "nodes": live.nodes,
        "apiRequests": cluster.requests,
        "seconds": round(cluster.elapsed, 3),
    }
    if cluster.result is not None:
        summary = cluster.result.summary
        info["privateImages"] = summary.private_images - summary.private_images_unverifiable
        info["privateImagesCovered"] = summary.private_images_covered
    return info


def _report(cluster: ClusterScan) -> dict[str, Any]:
    if cluster.result is None:
        return {"cluster": _cluster_info(cluster)}
    document: dict[str, Any] = json.loads(json_report.render(cluster.result))
    document["cluster"] = _cluster_info(cluster)
    return document


def render_json(fleet: FleetResult, out: TextIO) -> None:
    if len(fleet.clusters) == 1:
        json.dump(_report(fleet.clusters[0]), out, indent=2)
        out.write("\n")
        return
    document = {
        "schemaVersion": json_report.SCHEMA_VERSION,
        "fleet": {
            "line": fleet.headline,
            "privateImages": fleet.private_images,
            "privateImagesCovered": fleet.covered,
            "fingerprintsKeyed": fleet.fingerprints_keyed,
            "clusters": [_cluster_info(c) for c in fleet.clusters],
            "findings": [json_report.finding(f) for f in fleet.reuse],
        },
        "clusters": {c.name: _report(c) for c in fleet.clusters},
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def render_sarif(fleet: FleetResult, out: TextIO) -> None:
    runs: list[Any] = []
    for cluster in fleet.scanned:
        assert cluster.result is not None
        log = json.loads(sarif.render(cluster.result))
        for run in log.get("runs", []):
            run.setdefault("automationDetails", {})["id"] = f"pullguard/cluster/{cluster.name}"
            runs.append(run)
    if fleet.reuse or fleet.reuse_suppressed:  # cross-cluster PG007: a run of its own, as in JSON
        log = json.loads(
            sarif.render_findings(
                fleet.reuse, fleet.reuse_suppressed, f"Across clusters: {plural(len(fleet.reuse), 'finding')}"
            )
        )
        run = log["runs"][0]
        run.setdefault("automationDetails", {})["id"] = "pullguard/fleet"
        runs.append(run)
    if not runs:
        out.write(json.dumps({"version": "2.1.0", "runs": []}) + "\n")
        return
    log["runs"] = runs
    out.write(json.dumps(log, indent=2) + "\n")


def render(fleet: FleetResult, output_format: str, out: TextIO, **options: Any) -> None:
    if output_format == "json":
        render_json(fleet, out)
    elif output_format == "sarif":
        render_sarif(fleet, out)
    else:
        render_text(fleet, out, **options)


def render_string(fleet: FleetResult, output_format: str = "text") -> str:
    buffer = io.StringIO()
    render(fleet, output_format, buffer, color=False) if output_format == "text" else render(
        fleet, output_format, buffer
    )
    return buffer.getvalue()
