"""The JSON report: a stable, documented schema (src/pullguard/data/report.schema.json).

Secrets appear by namespace/name, type and registry keys only; never a value.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from pullguard import __version__
from pullguard.checks import Finding
from pullguard.inventory.access import SecretReader
from pullguard.inventory.facts import Facts
from pullguard.inventory.model import ObjectRef, Secret
from pullguard.inventory.resolve import ImageJudgement
from pullguard.report.ages import unknown_ages
from pullguard.result import ScanResult
from pullguard.settings import Suppression
from pullguard.sources.model import SKIP_REASON_TEXT, InputProblem, Location, SkipReason

SCHEMA_VERSION = "1"
_INDENT_LIMIT = 2000


def location(where: Location) -> dict[str, Any]:
    found: dict[str, Any] = {"file": where.path, "document": where.document, "line": where.line}
    if where.item is not None:
        found["item"] = where.item
    return found


def object_ref(ref: ObjectRef) -> dict[str, Any]:
    return {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


def finding(item: Finding) -> dict[str, Any]:
    cluster = {"cluster": item.cluster} if item.cluster is not None else {}
    return {
        **cluster,
        "checkId": item.check_id,
        "severity": item.severity.value,
        "breaksPull": item.breaks_pull,
        "object": object_ref(item.object),
        "message": item.message,
        "image": item.image,
        "container": item.container,
        "location": location(item.location),
        "remediation": item.remediation,
    }


def image(judgement: ImageJudgement, node_via: dict[str, str] | None = None) -> dict[str, Any]:
    use, pod = judgement.use, judgement.pod
    ref = use.ref
    return {
        "object": object_ref(pod.template.owner),
        "field": use.field.value,
        "name": use.name,
        "image": use.image,
        "normalized": str(ref) if ref else None,
        "registry": ref.domain if ref else None,
        "invalid": use.problem if ref is None and not use.unresolved and not use.placeholder else None,
        "unresolved": use.unresolved,
        "placeholder": use.problem if use.placeholder else None,
        "visibility": judgement.visibility.value if judgement.visibility else None,
        "visibilityReason": judgement.classification.reason if judgement.classification else None,
        "coverage": judgement.coverage.value if ref else None,
        "secretsFrom": pod.secrets_from.value,
        "serviceAccount": pod.template.service_account,
        "credentials": [
            {
                "key": m.location,
                "secret": m.secret,
                "node": m.secret is None,
                "anonymous": m.anonymous,
                # how the nodes authenticate (nodeCredentials `via`); an assumption, not a verified fact
                "via": (m.via or (node_via or {}).get(m.location)) if m.secret is None else None,
            }
            for m in judgement.matches
        ],
        "cause": judgement.cause if ref and not judgement.coverage.configured else None,
        "location": location(use.location),
    }


def reader(item: SecretReader) -> dict[str, Any]:
    """Who can read a pull secret (PG012), and through which bindings."""
    return {
        "kind": item.subject.kind,
        "name": item.subject.name,
        "namespace": item.subject.namespace,
        "note": item.subject.note,
        "verbs": list(item.verbs),
        "byNameOnly": item.by_name_only,
        "clusterWide": item.cluster_wide,
        "via": [
            {"binding": object_ref(g.binding), "role": object_ref(g.role), "builtinRole": g.builtin_role}
            for g in item.grants
        ],
    }


def suppression(item: Suppression) -> dict[str, Any]:
    return {
        "reason": item.reason,
        "source": item.source,
        "expires": item.expires.isoformat() if item.expires else None,
    }


def lifecycle(secret: Secret, facts: Facts) -> dict[str, Any]:
    """A pull secret's keyed credential fingerprints (PG007) and credential age (PG005), as
    analysis computed them; never a value."""
    known = facts.of_secret(secret.ref.namespace or "", secret.ref.name)
    assert known is not None, "analysis computes the facts of every secret a report lists"
    age = known.age
    return {
        "fingerprints": [{"registry": f.registry, "fingerprint": f.fingerprint} for f in known.fingerprints],
        "fingerprintKeyConfigured": facts.fingerprint_key_configured,
        "age": {
            "evidence": age.evidence.value,
            "since": age.since.isoformat() if age.since else None,
            "days": int(age.days) if age.days is not None else None,
            "refreshInterval": age.refresh_interval,
        },
    }


def problem(item: InputProblem) -> dict[str, Any]:
    return {
        "level": item.level.value,
        "code": item.code,
        "message": item.message,
        "location": location(item.location),
    }


def render(result: ScanResult) -> str:
    out = io.StringIO()
    write(result, out)
    return out.getvalue()


# What json.dumps(value, separators=(",", ":")) builds on every call, built once (the same output).
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def write(result: ScanResult, out: TextIO) -> None:
    """Write the report; the large arrays are streamed so memory stays bounded by the inventory."""
    head = _head(result)
    node_via = {n.registry: n.via for n in result.resolution.settings.node_credentials}
    streamed: dict[str, Iterable[dict[str, Any]]] = {
        "findings": (finding(f) for f in result.findings),
        "images": (image(j, node_via) for j in result.resolution.images),
        "pullSecrets": _pull_secrets(result),
    }
    small = len(result.resolution.images) + len(result.findings) <= _INDENT_LIMIT
    if small:  # small reports are indented for people; the pure-Python indenting encoder is slow
        out.write(
            json.dumps({**head, **{k: list(v) for k, v in streamed.items()}, **_tail(result)}, indent=2)
        )
        out.write("\n")
        return
    # the tail's parts are built as they are written, the fix plan a namespace at a time: at
    # 100,000 documents the whole tail held at once was the peak of the scan's memory
    out.write("{")
    separator = ""
    for key, value in head.items():
        out.write(f"{separator}{json.dumps(key)}:{_COMPACT.encode(value)}")
        separator = ","
    for key, entries in streamed.items():
        out.write(f",{json.dumps(key)}:[")
        _write_entries(out, entries)
        out.write("]")
    for key, make in _tail_parts(result).items():
        value = make()
        out.write(f",{json.dumps(key)}:")
        if isinstance(value, Iterator):
            out.write("[")
            _write_entries(out, value)
            out.write("]")
        else:
            out.write(_COMPACT.encode(value))
    out.write("}\n")


_BATCH = 256  # entries per write: the safe sink scans each write's lines, fewer calls cost less


def _write_entries(out: TextIO, entries: Iterable[dict[str, Any]]) -> None:
    """One entry a line, written a batch of lines at a time (memory: one batch)."""
    encode = _COMPACT.encode
    batch: list[str] = []
    separator = "\n"  # before the first entry; ",\n" before every later one
    for entry in entries:
        batch.append(encode(entry))
        if len(batch) == _BATCH:
            out.write(separator + ",\n".join(batch))
            separator = ",\n"
            batch.clear()
    if batch:
        out.write(separator + ",\n".join(batch))


def _head(result: ScanResult) -> dict[str, Any]:
    summary = result.summary
    unknown_age, declared = unknown_ages(result)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "pullguard", "version": __version__},
        "summary": {
            "line": summary.headline,
            "files": summary.files,
            "documents": summary.documents,
            "documentsSkipped": summary.documents_skipped,
            "documentsSkippedReasons": {
                reason: SKIP_REASON_TEXT[SkipReason(reason)] for reason in summary.documents_skipped
            },
            "objects": summary.objects,
            "lists": summary.lists,
            "podTemplates": summary.pod_templates,
            "images": summary.images,
            "imagesJudged": summary.images_judged,
            "invalidReferences": summary.invalid_references,
            "placeholderReferences": summary.placeholder_references,
            "unresolvedReferences": summary.unresolved_references,
            "privateImages": summary.private_images,
            "privateImagesCovered": summary.private_images_covered,
            "privateImagesUnverifiable": summary.private_images_unverifiable,
            "publicImages": summary.public_images,
            "unknownRegistryImages": summary.unknown_images,
            "unanalysedWorkloads": summary.unanalysed_workloads,
            "inputErrors": summary.input_errors,
            "inputWarnings": summary.input_warnings,
            "findings": summary.findings,
            "suppressedFindings": summary.suppressed,
            "pullSecretsAgeUnknown": unknown_age,
            "pullSecretsDeclared": declared,
        },
    }


def _pull_secrets(result: ScanResult) -> Iterator[dict[str, Any]]:
    inventory = result.inventory
    access = result.facts.access
    # Readers are shared by every secret of a namespace: convert each list once.
    converted: dict[int, list[dict[str, Any]]] = {}
    for secret in sorted(inventory.secrets.values(), key=lambda s: s.ref):
        if not (secret.is_pull_secret_type or secret.docker_keys_in_wrong_type):
            continue
        readers = access.local(secret.ref.namespace or "", secret.ref.name)
        if id(readers) not in converted:
            converted[id(readers)] = [reader(r) for r in readers]
        yield {
            "namespace": secret.ref.namespace,
            "name": secret.ref.name,
            "type": secret.type,
            "origin": secret.origin.value,
            "registries": (
                [entry.key for entry in secret.payload.entries]
                if secret.payload is not None and secret.registries_known
                else None
            ),
            "error": secret.payload.error if secret.payload is not None else None,
            "location": location(secret.location),
            "readers": converted[id(readers)],  # plus every entry of clusterWideSecretReaders
            **lifecycle(secret, result.facts),
        }


def _tail(result: ScanResult) -> dict[str, Any]:
    tail = {key: make() for key, make in _tail_parts(result).items()}
    return {key: list(value) if isinstance(value, Iterator) else value for key, value in tail.items()}


def _tail_parts(result: ScanResult) -> dict[str, Callable[[], Any]]:
    """The report's keys after the streamed arrays, each built when it is written; an array given
    as an iterator (the fix plan, a namespace at a time) is streamed."""
    inventory = result.inventory
    from pullguard.remediation.render import namespace_json

    combined: dict[str, Callable[[], Any]] = (
        {
            "sources": lambda: {
                origin: dict(sorted(kinds.items())) for origin, kinds in inventory.origins.items()
            },
            "sourcesReplaced": lambda: list(inventory.replaced),
        }
        if len(inventory.origins) > 1 or inventory.replaced
        else {}
    )
    return {
        **combined,
        "clusterWideSecretReaders": lambda: [reader(r) for r in result.facts.access.cluster_wide],
        "unanalysedWorkloads": lambda: [
            {
                "object": object_ref(u.ref),
                "apiVersion": u.api_version,
                "images": list(u.images),
                "fields": list(u.fields),
                "location": location(u.location),
            }
            for u in inventory.unanalysed
        ],
        "inputProblems": lambda: [problem(p) for p in result.problems],
        "suppressedFindings": lambda: [
            {**finding(s.finding), "suppression": suppression(s.suppression)} for s in result.suppressed
        ],
        "fixes": lambda: (namespace_json(n) for n in result.plan.namespaces),
    }
