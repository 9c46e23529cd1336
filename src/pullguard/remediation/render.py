"""The fix plan as people and tools read it: pastable text, a JSON section, SARIF `fixes`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pullguard.checks import Finding
from pullguard.remediation.plan import NamespacePlan, Plan, Step

if TYPE_CHECKING:
    from pullguard.result import ScanResult

# (text, kind): "comment" lines are wrapped behind "# ", "command" lines are printed as they are
Line = tuple[str, str]


def text_lines(result: ScanResult) -> list[Line]:
    """The whole fix section: the plan (it pastes into a shell as is), then every other finding's fix."""
    plan = result.plan
    lines: list[Line] = []
    if not plan.empty:
        steps = sum(len(n.steps) for n in plan.namespaces)
        lines.append(
            (
                f"Fix plan: {steps} step{'s' if steps != 1 else ''} in {len(plan.namespaces)} "
                f"namespace{'s' if len(plan.namespaces) != 1 else ''}, for the findings that break pulls. "
                "It pastes into a shell as it is; fill in the <placeholders> first.",
                "heading",
            )
        )
        for namespace in plan.namespaces:
            lines.append(("", "command"))
            lines.append((f"namespace {namespace.namespace}", "comment"))
            for index, step in enumerate(namespace.steps, 1):
                lines.append(
                    (
                        f"{index}. {step.title}. Fixes {', '.join(step.fixes) or 'no finding directly'}.",
                        "comment",
                    )
                )
                lines += [(command, "command") for command in step.commands]
                if step.manifest_patch:
                    lines.append(("or, in the manifest:", "comment"))
                    lines += [(f"#   {row}", "command") for row in step.manifest_patch.splitlines()]
    others = [f for f in result.findings if not plan.steps_for(f)]
    if others:
        if lines:
            lines.append(("", "command"))
        lines.append(("Other fixes, one per finding:", "heading"))
        for finding in others:
            lines.append(("", "command"))
            lines.append(
                (
                    f"{finding.check_id} {finding.object} ({finding.location.path}:{finding.location.line})",
                    "comment",
                )
            )
            lines += _shell_rows(finding.remediation)
    return lines


# The programs a finding's fix text runs; its other lines are sentences and YAML for people.
_PROGRAMS = frozenset(
    {
        "kubectl",
        "pullguard",
        "aws",
        "gcloud",
        "az",
        "sops",
        "kubeseal",
        "jq",
        "if",
        "shred",
        "skopeo",
        "docker",
    }
)


def _shell_rows(text: str) -> list[Line]:
    """A finding's fix text as lines that paste into a shell: commands as they are (a command
    continues on the next line after a trailing backslash), every other line a `#` comment, so
    no sentence, YAML snippet or name quoted in it is run."""
    rows: list[Line] = []
    continued = False
    for row in text.splitlines():
        stripped = row.lstrip()
        command = (
            continued or not stripped or stripped.startswith("#") or stripped.split(" ", 1)[0] in _PROGRAMS
        )
        rows.append((row, "command") if command else (row, "comment"))
        continued = command and row.rstrip().endswith("\\")
    return rows


def step_json(step: Step) -> dict[str, Any]:
    def ref(target: Any) -> dict[str, Any] | None:
        return (
            None
            if target is None
            else {"kind": target.kind, "namespace": target.namespace, "name": target.name}
        )

    return {
        "action": step.action.value,
        "title": step.title,
        "secret": step.secret,
        "registries": list(step.registries),
        "target": ref(step.target),
        "secrets": list(step.secrets),
        "serves": [ref(s) for s in step.serves],
        "commands": step.commands,
        "manifestPatch": step.manifest_patch,
        "fixes": list(step.fixes),
        "keyEdits": [{"key": old, "newKey": new} for old, new in step.key_edits],
    }


def namespace_json(namespace: NamespacePlan) -> dict[str, Any]:
    return {"namespace": namespace.namespace, "steps": [step_json(s) for s in namespace.steps]}


def sarif_fixes(plan: Plan, finding: Finding, uri: str, line: int) -> list[dict[str, Any]]:
    """SARIF `fixes` for one result: each step, described with its commands.

    A SARIF fix must name an artifact change; these fixes are commands, not edits of the
    file, so the change is an empty replacement at the finding's line (it changes nothing).
    """
    fixes = []
    for step in plan.steps_for(finding):
        text = "\n".join([step.title + ".", *plan.commands_about(step, finding.object)])
        fixes.append(
            {
                "description": {"text": text},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": uri},
                        "replacements": [
                            {"deletedRegion": {"startLine": max(line, 1), "startColumn": 1, "endColumn": 1}}
                        ],
                    }
                ],
            }
        )
    return fixes
