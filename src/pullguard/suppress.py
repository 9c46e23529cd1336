"""Suppressions and severity overrides, applied to the checks' findings.

A suppressed finding is not dropped: it moves to `ScanResult.suppressed` with
its reason and source, is counted in the summary, and is listed in the JSON
(`suppressedFindings`) and SARIF (`suppressions`) reports. A suppression whose
expiry date has passed stops suppressing, and the finding says so.

Two sources: the configuration (`suppressions:` in `.pullguard.yaml`) and the
object annotation `pullguard.io/ignore: "PG005: reason"` (several entries
separated by `;` or new lines; `PG005, PG009: reason` names several checks).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date

from pullguard.checks.base import Finding, Severity
from pullguard.inventory.model import Inventory, ObjectRef
from pullguard.settings import Suppression

IGNORE_ANNOTATION = "pullguard.io/ignore"
# check ids in any case (pg005), as everywhere a user writes one
_ENTRY = re.compile(r"^\s*((?:PG\d{3}|\*)(?:\s*,\s*(?:PG\d{3}|\*))*)\s*(?::\s*(.*?))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SuppressedFinding:
    finding: Finding
    suppression: Suppression


def annotation_suppressions(value: str, ref: ObjectRef) -> list[Suppression]:
    """The suppressions an object's `pullguard.io/ignore` annotation declares, for that object only."""
    found: list[Suppression] = []
    for part in re.split(r"[;\n]", value):
        if not part.strip():
            continue
        match = _ENTRY.match(part)
        if match is None:
            continue
        reason = (match.group(2) or "").strip() or "no reason given"
        for check in re.split(r"\s*,\s*", match.group(1).strip()):
            found.append(
                Suppression(
                    check.upper(),
                    _glob_escape(str(ref)),
                    reason,
                    None,
                    f"annotation {IGNORE_ANNOTATION} on {ref}",
                )
            )
    return found


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _annotated(inventory: Inventory) -> dict[ObjectRef, list[Suppression]]:
    found: dict[ObjectRef, list[Suppression]] = {}

    def collect(ref: ObjectRef, pairs: tuple[tuple[str, str], ...]) -> None:
        for key, value in pairs:
            if key == IGNORE_ANNOTATION:
                found.setdefault(ref, []).extend(annotation_suppressions(value, ref))

    for template in inventory.pod_templates:
        if template.annotations:
            collect(template.owner, template.annotations)
    for account in inventory.service_accounts.values():
        if account.annotations:
            collect(account.ref, account.annotations)
    for secret in inventory.secrets.values():
        if secret.annotations:
            collect(secret.ref, secret.annotations)
    return found


def apply(
    findings: list[Finding],
    inventory: Inventory,
    suppressions: tuple[Suppression, ...],
    severity_overrides: dict[str, Severity],
    today: date,
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """Split findings into active and suppressed; overrides change severities first."""
    annotated = _annotated(inventory)
    active: list[Finding] = []
    suppressed: list[SuppressedFinding] = []
    for finding in findings:
        override = severity_overrides.get(finding.check_id)
        if override is not None and override is not finding.severity:
            finding = dataclasses.replace(finding, severity=override)
        name = str(finding.object)
        candidates = [*annotated.get(finding.object, ()), *suppressions]
        matching = [s for s in candidates if s.applies_to(finding.check_id, name)]
        live = next((s for s in matching if not s.expired(today)), None)
        if live is not None:
            suppressed.append(SuppressedFinding(finding, live))
            continue
        if matching:
            lapsed = matching[0]
            finding = dataclasses.replace(
                finding,
                message=f"{finding.message} (A suppression of this finding expired on "
                f"{lapsed.expires}: {lapsed.source}, reason: {lapsed.reason}.)",
            )
        active.append(finding)
    return active, suppressed
