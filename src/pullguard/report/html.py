"""A single self-contained HTML report for reviewers: no script, no external fetch, inline CSS.

Summary figures and the "X of Y" line, findings grouped by namespace and severity
(fixes folded under each), the inventory of pull secrets with who uses and who can
read them, and whether encryption at rest and audit logging were assessed. Every
value goes through html.escape; no secret value is ever in the input to this module.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from typing import Any

from pullguard import __version__
from pullguard.checks import REGISTRY, Finding, Severity
from pullguard.counts import noun, plural
from pullguard.inventory.facts import PullSecretFacts
from pullguard.inventory.model import ObjectRef
from pullguard.inventory.resolve import SecretsFrom
from pullguard.report.coverage import coverage_line
from pullguard.report.problems import files_shown, grouped
from pullguard.result import ScanResult
from pullguard.text_safety import one_line

_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--crit:#82071e;--high:#cf222e;
--med:#bc4c00;--low:#0969da;--info:#59636e;--ok:#1a7f37}
*{box-sizing:border-box}
body{font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);
margin:0;background:#fff}
header{background:#24292f;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:4px 0 0;color:#d0d7de;font-size:13px}
main{max-width:1280px;margin:0 auto;padding:24px 32px 48px}
.headline{font-size:24px;font-weight:600;margin:0 0 16px}
.figures{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 8px;padding:0;list-style:none}
.figures li{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:130px;background:var(--bg)}
.figures b{display:block;font-size:22px}
.figures span{color:var(--muted);font-size:13px}
.muted{color:var(--muted)}
h2{font-size:19px;border-bottom:1px solid var(--line);padding-bottom:6px;margin-top:36px}
h3{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:14px}
th,td{border:1px solid var(--line);padding:6px 10px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px;white-space:pre-wrap;
word-break:break-word;margin:6px 0 0}
details summary{cursor:pointer;color:var(--low);font-size:13px}
td:first-child,td code{white-space:nowrap}
.sev{display:inline-block;border-radius:12px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}
.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.ok{color:var(--ok);font-weight:600}
.bar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#eaeef2;max-width:520px;margin:4px 0 18px}
.bar i{display:block;background:var(--ok)}
ul.plain{margin:0;padding-left:18px}
"""


def _text(value: str) -> str:
    """Data as HTML text on one line: a line break or tab in a name, path or message is shown as an
    escape (`\\x0a`), as in the text report; then HTML-escaped."""
    return escape(one_line(value))


def _sev(severity: Severity) -> str:
    return f'<span class="sev sev-{severity.value}">{_text(severity.value)}</span>'


def _age(facts: PullSecretFacts | None) -> str:
    """The credential age PG005 judged, with its evidence (computed once in analysis)."""
    if facts is None or facts.age.days is None:
        age = facts.age if facts is not None else None
        if age is not None and age.refresh_interval:
            return f"refreshed every {_text(age.refresh_interval)}"
        return "unknown"
    return (
        f'{plural(int(facts.age.days), "day")} <span class="muted">({_text(facts.age.evidence.value)})</span>'
    )


def _fingerprints(facts: PullSecretFacts | None) -> str:
    if facts is None or not facts.fingerprints:
        return "—"
    return "<br>".join(
        f'<code>{_text(f.fingerprint)}</code> <span class="muted">{_text(f.registry)}</span>'
        for f in facts.fingerprints
    )


def _consumers(result: ScanResult) -> dict[tuple[str, str], list[ObjectRef]]:
    users: dict[tuple[str, str], list[ObjectRef]] = defaultdict(list)
    for pod in result.resolution.pods:
        user = (
            pod.service_account.ref
            if pod.secrets_from is SecretsFrom.SERVICE_ACCOUNT and pod.service_account
            else pod.template.owner
        )
        for ref in pod.references:
            key = (pod.template.namespace, ref.name)
            if user not in users[key]:
                users[key].append(user)
    return users


def render(result: ScanResult, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    summary = result.summary
    judged = summary.private_images - summary.private_images_unverifiable
    covered = summary.private_images_covered
    share = 100 * covered / judged if judged else 100
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no fetch of anything, from anywhere: a report must open offline and leak nothing
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>pullguard report: {_text(summary.headline)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>pullguard report</h1>",
        f"<p>pullguard {_text(__version__)} · generated {_text(now.strftime('%Y-%m-%d %H:%M UTC'))}</p></header>",
        "<main>",
        f'<p class="headline" id="headline">{_text(summary.headline)}</p>',
        f'<div class="bar" title="{share:.0f}% covered"><i style="width:{share:.1f}%"></i></div>',
        '<ul class="figures" id="figures">',
    ]

    def figure(number: int, word: str) -> tuple[int, str]:
        return number, noun(number, word)

    figures: list[tuple[Any, str]] = [
        figure(len(result.findings), "finding"),
        *(figure(n, f"{s} finding") for s, n in summary.findings.items()),
        figure(summary.private_images, "private image"),
        figure(summary.public_images, "public image"),
        (summary.unknown_images, "unknown registry"),
        figure(summary.pod_templates, "pod template"),
        figure(sum(1 for s in result.inventory.secrets.values() if s.is_pull_secret_type), "pull secret"),
        figure(summary.files, "file"),
        figure(summary.input_errors, "input error"),
    ]
    parts += [f"<li><b>{_text(str(n))}</b><span>{_text(label)}</span></li>" for n, label in figures]
    parts.append("</ul>")
    parts.append(
        f'<p class="muted">{plural(summary.files, "file")}, {plural(summary.documents, "document")}, '
        f"{plural(summary.objects, 'object')}, "
        f"{plural(summary.images, 'image')} ({summary.private_images} private, {summary.public_images} public, "
        f"{summary.unknown_images} unknown registry, {summary.invalid_references} invalid, "
        + (
            f"{plural(summary.placeholder_references, 'build-time placeholder')}, "
            if summary.placeholder_references
            else ""
        )
        + f"{summary.unresolved_references} unresolved).</p>"
    )
    by_source = coverage_line(result.resolution)
    if by_source:
        parts.append(f'<p class="muted" id="coverage">{_text(by_source)}</p>')
    parts += _findings(result.findings)
    parts += _pull_secrets(result, now)
    parts += _cluster_config(result)
    parts += _problems(result)
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _findings(findings: list[Finding]) -> list[str]:
    parts = ['<section id="findings"><h2>Findings</h2>']
    if not findings:
        parts.append('<p class="ok">No findings.</p></section>')
        return parts
    by_namespace: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_namespace[finding.object.namespace or "(cluster-wide)"].append(finding)
    for namespace in sorted(by_namespace, key=lambda n: (n == "(cluster-wide)", n)):
        group = by_namespace[namespace]
        counts: dict[Severity, int] = defaultdict(int)
        for f in group:
            counts[f.severity] += 1
        badge = " ".join(f"{_sev(s)} {n}" for s, n in sorted(counts.items(), key=lambda i: -i[0].rank))
        label = "Cluster-wide" if namespace == "(cluster-wide)" else f"Namespace {namespace}"
        parts.append(f"<h3>{_text(label)} <small>{badge}</small></h3>")
        parts.append(
            '<table class="findings"><thead><tr><th>Severity</th><th>Check</th><th>Object</th>'
            "<th>Where</th><th>Finding</th></tr></thead><tbody>"
        )
        for f in sorted(group, key=lambda f: (-f.severity.rank, f.check_id, f.object)):
            check = REGISTRY.get(f.check_id)
            title = _text(check.info.title) if check else ""
            parts.append(
                f'<tr><td>{_sev(f.severity)}</td><td title="{title}">{_text(f.check_id)}</td>'
                f"<td>{_text(str(f.object))}</td>"
                f"<td><code>{_text(f.location.path)}:{f.location.line}</code></td>"
                f"<td>{_text(f.message)}<details><summary>How to fix</summary>"
                f"<pre>{escape(f.remediation)}</pre></details></td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</section>")
    return parts


def _pull_secrets(result: ScanResult, now: datetime) -> list[str]:
    access = result.facts.access
    consumers = _consumers(result)
    secrets = sorted(
        (s for s in result.inventory.secrets.values() if s.is_pull_secret_type), key=lambda s: s.ref
    )
    parts = ['<section id="pull-secrets"><h2>Pull secrets</h2>']
    if not secrets:
        parts.append('<p class="muted">No pull secrets in the input.</p></section>')
        return parts
    parts.append(
        "<table><thead><tr><th>Namespace/name</th><th>Registries</th><th>Fingerprint</th><th>Age</th>"
        "<th>Used by</th><th>Who can read it</th></tr></thead><tbody>"
    )
    for secret in secrets:
        namespace = secret.ref.namespace or ""
        if secret.payload is not None and secret.registries_known:
            registries = "<br>".join(f"<code>{_text(e.key)}</code>" for e in secret.payload.entries) or "none"
            if secret.payload.error:
                registries = "<i>malformed</i>"
        else:
            registries = f"<i>unknown until rendered ({_text(secret.origin.value)})</i>"
        facts = result.facts.of_secret(namespace, secret.ref.name)
        used = consumers.get((namespace, secret.ref.name), [])
        readers = access.of(namespace, secret.ref.name)
        reader_cells = (
            '<ul class="plain">'
            + "".join(
                f"<li>{_text(str(r.subject))}"
                + (f' <span class="muted">({_text(r.subject.note)})</span>' if r.subject.note else "")
                + f": {_text(', '.join(r.verbs))}"
                + (' <span class="muted">by name</span>' if r.by_name_only else "")
                + f' <span class="muted">via {_text(str(r.grants[0]))}</span></li>'
                for r in readers
            )
            + "</ul>"
            if readers
            else '<span class="muted">nobody in the input</span>'
        )
        parts.append(
            f"<tr><td>{_text(namespace)}/{_text(secret.ref.name)}</td><td>{registries}</td>"
            f"<td>{_fingerprints(facts)}</td>"
            f"<td>{_age(facts)}</td>"
            f"<td>{'<br>'.join(_text(str(u)) for u in used[:10]) or '<span class=muted>unused</span>'}"
            f"{f'<br>and {len(used) - 10} more' if len(used) > 10 else ''}</td>"
            f"<td>{reader_cells}</td></tr>"
        )
    parts.append("</tbody></table>")
    parts.append(
        '<p class="muted">"Who can read it" comes from the Roles, ClusterRoles and bindings in the input '
        "(PG012); bindings not in the input are not known.</p></section>"
    )
    return parts


def _cluster_config(result: ScanResult) -> list[str]:
    inventory = result.inventory
    encryption = (
        f"{plural(len(inventory.encryption_configs), 'EncryptionConfiguration file')} assessed (PG014)."
        if inventory.encryption_configs
        else "No EncryptionConfiguration in the input: encryption at rest was not assessed."
    )
    audit = (
        f"{plural(len(inventory.audit_policies), 'audit Policy file')} assessed (PG015)."
        if inventory.audit_policies
        else "No audit Policy in the input: audit logging of secrets was not assessed."
    )
    return [
        '<section id="cluster-config"><h2>Cluster configuration</h2><ul>',
        f"<li>{_text(encryption)}</li><li>{_text(audit)}</li></ul></section>",
    ]


def _problems(result: ScanResult) -> list[str]:
    if not result.problems:
        return []
    rows = "".join(
        f"<tr><td>{_text(g.level.value)}</td><td><code>{_text(str(g.members[0].location))}</code></td>"
        f"<td>{_text(g.message)}</td></tr>"
        if len(g.members) == 1
        else f"<tr><td>{_text(g.level.value)} &times; {len(g.members)}</td>"
        f"<td><code>{_text(files_shown(g))}</code></td><td>{_text(g.message)}</td></tr>"
        for g in grouped(result.problems)
    )
    return [
        '<section id="input-problems"><h2>Input problems</h2>',
        f"<table><thead><tr><th>Level</th><th>Where</th><th>Problem</th></tr></thead><tbody>{rows}"
        "</tbody></table></section>",
    ]
