"""Reports of `pullguard verify`: text, json and sarif, one row per (workload, container, image).

Rows name credentials by secret and key (or config file and helper), never by value.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.text import Text

from pullguard import __version__
from pullguard.registry.outcome import OutcomeKind
from pullguard.registry.verify import ANONYMOUS, ImageVerdict, VerifyResult
from pullguard.report.console import make_console, plural, width_of, wrap
from pullguard.report.json_report import location, object_ref
from pullguard.report.sarif import _physical, sarif_log
from pullguard.text_safety import one_line

SCHEMA_VERSION = "1"
_STYLES = {
    OutcomeKind.OK: "green",
    OutcomeKind.NOT_CHECKED: "dim",
    OutcomeKind.RATE_LIMITED: "yellow",
    OutcomeKind.UNREACHABLE: "yellow",
    OutcomeKind.REGISTRY_ERROR: "yellow",
}


def headline(result: VerifyResult) -> str:
    """`8 of 17 images can be pulled ...` (`X of Y images` whatever Y, as scan's `X of Y private images`
    headline, which scripts read); images not checked (a credential provider pullguard does not
    run, secrets it cannot read) are not in the 17, and the line says how many there are, so the total
    on the next line (`19 images (...)`) adds up."""
    checked = [v for v in result.verdicts if v.outcome.kind is not OutcomeKind.NOT_CHECKED]
    ok = sum(1 for v in checked if v.outcome.ok)
    not_checked = len(result.verdicts) - len(checked)
    pulled = "can be pulled with the credentials the kubelet would use"
    if not not_checked:
        return f"{ok} of {len(checked)} images {pulled}."
    if not checked:
        return (
            "The image could not be checked."
            if not_checked == 1
            else f"None of the {not_checked} images could be checked."
        )
    more = "1 more was" if not_checked == 1 else f"{not_checked} more were"
    return f"{ok} of {len(checked)} checked images {pulled}; {more} not checked."


def render_text(result: VerifyResult, out: TextIO, *, color: bool | None = None) -> None:
    """One block per image (`Kind ns/name  container  image`, then the outcome), then the failures
    grouped by what to do; never a table that cuts names, wrapped at COLUMNS or the terminal."""
    console = make_console(out, color)
    width = width_of(out)

    def say(text: str, style: str = "", indent: str = "") -> None:
        for line in wrap(one_line(text), width, indent):  # a line break in a name is shown, not made
            console.print(Text(line, style=style))

    say(headline(result), "bold")
    counts = ", ".join(f"{n} {kind}" for kind, n in result.counts().items())
    stats = result.stats
    say(
        f"{plural(len(result.verdicts), 'image')} ({counts}) in {result.elapsed:.2f}s; "
        f"{plural(stats.requests, 'request')} ({stats.manifest_requests} manifest, {stats.token_requests} token, "
        f"{stats.pings} ping)."
    )
    for verdict in result.verdicts:
        use = verdict.judgement.use
        kind = verdict.outcome.kind
        console.print()
        console.print(
            Text.assemble(
                one_line(f"{verdict.judgement.pod.template.owner}  {use.name}  {use.image}  "),
                (kind.value, _STYLES.get(kind, "bold red")),
            )
        )
        detail = _detail(verdict)
        credential = _credential(verdict).replace("\n", "; ")
        if credential:
            say(f"credential: {credential}", indent="  ")
        if detail:
            say(detail, indent="  ")
    console.print()
    for title, cause, fix, verdicts in failure_groups(result):
        say(f"{title} ({len(verdicts)}): {cause}.", "bold red")
        if title == NO_CREDENTIAL:
            for verdict in verdicts:
                j = verdict.judgement
                say(
                    f"{j.pod.template.owner} container '{j.use.name}' ({j.use.image}): "
                    f"{j.cause or 'no credential matches this image'}",
                    indent="  ",
                )
        say(f"Fix: {fix}.", "dim", indent="  ")


NO_CREDENTIAL = "no credential was sent"
_NO_CREDENTIAL_CAUSE = (
    "no pull secret of the pod (nor a node credential) holds a usable key for the image's registry, so the "
    "kubelet pulls anonymously and the registry refuses (missing secret, wrong type, port or host mismatch, "
    "no key)"
)
_NO_CREDENTIAL_FIX = (
    "give the pod a credential for the registry: create the missing secret, repair the one of the wrong "
    "type, or add a key for the registry, and attach it to the pod or its ServiceAccount; "
    "`pullguard scan --show-fixes` prints the commands"
)
_REFUSED = {
    OutcomeKind.UNAUTHORIZED: (
        "the credential was refused",
        "the registry refused the credential that was sent (wrong username or password, revoked token)",
    ),
}


def credential_sent(verdict: ImageVerdict) -> bool:
    """Did the kubelet's pull carry a credential? (Not when no key matched: then it is anonymous.)"""
    return any(a.login != ANONYMOUS.source for a in verdict.attempts)


def failure_groups(result: VerifyResult) -> list[tuple[str, str, str, list[ImageVerdict]]]:
    """Failing images by what happened: no credential sent, apart from each way a sent one failed."""
    groups: dict[str, tuple[str, str, str, list[ImageVerdict]]] = {}
    for verdict in result.failing:
        kind = verdict.outcome.kind
        if kind in (OutcomeKind.UNAUTHORIZED, OutcomeKind.DENIED) and not credential_sent(verdict):
            key, title, cause, fix = NO_CREDENTIAL, NO_CREDENTIAL, _NO_CREDENTIAL_CAUSE, _NO_CREDENTIAL_FIX
        else:
            refused = _REFUSED.get(kind)
            key = kind.value
            title = f"{kind.value}: {refused[0]}" if refused else kind.value
            cause = refused[1] if refused else kind.cause
            fix = kind.fix
        groups.setdefault(key, (title, cause, fix, []))[3].append(verdict)
    return list(groups.values())


def _credential(verdict: ImageVerdict) -> str:
    if verdict.credential == "anonymous":
        return "anonymous (no matching credential)"
    if verdict.credential:
        return verdict.credential
    if verdict.attempts:
        return "\n".join(f"{a.login}: {a.outcome.kind.value}" for a in verdict.attempts)
    return ""


def _detail(verdict: ImageVerdict) -> str:
    outcome = verdict.outcome
    text = outcome.detail
    if outcome.digest:
        text = outcome.digest
    if verdict.note and verdict.attempts and verdict.credential != "anonymous" and outcome.kind.fails:
        text += f"; {verdict.note}"
    return text


def _row(verdict: ImageVerdict) -> dict[str, Any]:
    use, pod = verdict.judgement.use, verdict.judgement.pod
    outcome = verdict.outcome
    return {
        "object": object_ref(pod.template.owner),
        "field": use.field.value,
        "name": use.name,
        "image": use.image,
        "normalized": str(use.ref) if use.ref else None,
        "registry": use.ref.domain if use.ref else None,
        "outcome": outcome.kind.value,
        "fails": outcome.kind.fails,
        "detail": outcome.detail,
        "cause": outcome.cause,
        "fix": outcome.fix,
        "digest": outcome.digest,
        "httpStatus": outcome.status,
        "rateLimit": (
            {
                "limit": outcome.rate_limit.limit,
                "remaining": outcome.rate_limit.remaining,
                "reset": outcome.rate_limit.reset,
                "retryAfter": outcome.rate_limit.retry_after,
            }
            if outcome.rate_limit
            else None
        ),
        "credential": verdict.credential,
        # false when no key matched and the pull was anonymous: the fix is a credential, not a new password
        "credentialSent": credential_sent(verdict),
        "attempts": [
            {"credential": a.login, "outcome": a.outcome.kind.value, "detail": a.outcome.detail}
            for a in verdict.attempts
        ],
        "note": verdict.note,
        "location": location(use.location),
    }


def render_json(result: VerifyResult) -> str:
    stats = result.stats
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "pullguard", "version": __version__},
        "summary": {
            "line": headline(result),
            "images": len(result.verdicts),
            "failing": len(result.failing),
            "outcomes": result.counts(),
            "elapsedSeconds": round(result.elapsed, 3),
            "requests": stats.requests,
            "manifestRequests": stats.manifest_requests,
            "tokenRequests": stats.token_requests,
            "pings": stats.pings,
            "retries": stats.retries,
            "inputErrors": result.scan.summary.input_errors,
        },
        "results": [_row(v) for v in result.verdicts],
        "inputProblems": [
            {"level": p.level.value, "code": p.code, "message": p.message, "location": location(p.location)}
            for p in result.scan.problems
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _rule_id(kind: OutcomeKind) -> str:
    return f"verify/{kind.value}"


def render_sarif(result: VerifyResult) -> str:
    kinds = [kind for kind in OutcomeKind if kind.fails]
    rules = [
        {
            "id": _rule_id(kind),
            "name": "Pull" + "".join(part.capitalize() for part in kind.value.split("-")),
            "shortDescription": {"text": f"image pull would fail: {kind.value}"},
            "fullDescription": {"text": kind.cause},
            "help": {"text": f"Fix: {kind.fix}"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "kubernetes", "image-pull"], "security-severity": "5.0"},
        }
        for kind in kinds
    ]
    index = {kind: position for position, kind in enumerate(kinds)}
    results = [
        {
            "ruleId": _rule_id(v.outcome.kind),
            "ruleIndex": index[v.outcome.kind],
            "level": "error",
            "message": {
                "text": f"{v.judgement.pod.template.owner} container '{v.judgement.use.name}' cannot pull "
                f"'{v.judgement.use.image}': {_detail(v)}. Cause: {v.outcome.cause}. Fix: {v.outcome.fix}."
            },
            "locations": [_physical(v.judgement.use.location)],
            "partialFingerprints": {
                "pullguard/verify/v1": f"{v.judgement.pod.template.owner}:{v.judgement.use.name}:{v.judgement.use.image}"
            },
            "properties": {"outcome": v.outcome.kind.value, "credential": v.credential},
        }
        for v in result.verdicts
        if v.fails
    ]
    return sarif_log(rules, results, {"executionSuccessful": True}, headline(result))


def _failure_text(verdict: ImageVerdict) -> str:
    outcome = verdict.outcome
    return f"{_detail(verdict)}. Cause: {outcome.cause}. Fix: {outcome.fix}."


def render_junit(result: VerifyResult) -> str:
    """One test case per (workload, container, image): failed when the kubelet's pull would
    fail, skipped when the credentials could not be checked."""
    import xml.etree.ElementTree as ET

    suite = ET.Element(
        "testsuite",
        name="pullguard verify",
        tests=str(len(result.verdicts)),
        failures=str(len(result.failing)),
        skipped=str(sum(1 for v in result.verdicts if v.outcome.kind is OutcomeKind.NOT_CHECKED)),
        time=f"{result.elapsed:.3f}",
    )
    for verdict in result.verdicts:
        use = verdict.judgement.use
        case = ET.SubElement(
            suite,
            "testcase",
            classname=str(verdict.judgement.pod.template.owner),
            name=f"{use.name}: {use.image}",
            file=use.location.path,
            line=str(use.location.line),
        )
        if verdict.fails:
            failure = ET.SubElement(
                case, "failure", type=verdict.outcome.kind.value, message=_detail(verdict)
            )
            failure.text = _failure_text(verdict)
        elif verdict.outcome.kind is OutcomeKind.NOT_CHECKED:
            ET.SubElement(case, "skipped", message=verdict.outcome.detail)
    root = ET.Element("testsuites", name="pullguard verify")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _md(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def render_markdown(result: VerifyResult) -> str:
    lines = [f"### pullguard verify: {headline(result)}", ""]
    failing = result.failing
    if not failing:
        lines.append("Every checked image can be pulled.")
    else:
        lines += ["| Object | Container | Image | Outcome | Detail |", "|---|---|---|---|---|"]
        lines += [
            f"| {_md(str(v.judgement.pod.template.owner))} | {_md(v.judgement.use.name)} | "
            f"`{_md(v.judgement.use.image)}` | {v.outcome.kind.value} | {_md(_failure_text(v))} |"
            for v in failing
        ]
    not_checked = sum(1 for v in result.verdicts if v.outcome.kind is OutcomeKind.NOT_CHECKED)
    if not_checked:
        lines += [
            "",
            f"{not_checked} image{'s' if not_checked != 1 else ''} could not be checked (see the JSON report).",
        ]
    return "\n".join(lines) + "\n"


def render_html(result: VerifyResult) -> str:
    from html import escape as html_escape

    def escape(text: str) -> str:  # on one line: a line break in a name is shown as `\x0a`
        return html_escape(one_line(text))

    rows = "".join(
        f"<tr><td>{escape(str(v.judgement.pod.template.owner))}</td><td>{escape(v.judgement.use.name)}</td>"
        f"<td><code>{escape(v.judgement.use.image)}</code></td><td>{escape(v.outcome.kind.value)}</td>"
        f"<td>{escape(_credential(v).replace(chr(10), '; '))}</td><td>{escape(_detail(v))}</td></tr>"
        for v in result.verdicts
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>pullguard verify</title></head><body><h1>{escape(headline(result))}</h1>"
        "<table><thead><tr><th>Object</th><th>Container</th><th>Image</th><th>Outcome</th><th>Credential</th>"
        f"<th>Detail</th></tr></thead><tbody>{rows}</tbody></table></body></html>\n"
    )
