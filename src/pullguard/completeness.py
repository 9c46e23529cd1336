"""Inputs that would otherwise pass silently: nothing to judge is an input error, not a clean bill.

- No Kubernetes object at all (an empty directory, a chart that was not rendered, a wrong
  path in CI): "0 of 0 private images" must not read as a pass.
- An image that is an un-rendered template expression (`"{{ .Values.image }}"`, quoted so
  that it parses as YAML): the image the cluster will pull is unknown, so it cannot be judged;
  unquoted expressions already fail YAML parsing (code `template`).

Both are input errors (exit 2); `--allow-input-errors` opts out, as for any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from pullguard.inventory.model import Inventory
from pullguard.sources.model import InputProblem, Level, Location


def problems(inventory: Inventory, paths: Sequence[str]) -> list[InputProblem]:
    found: list[InputProblem] = []
    unreadable = any(p.level is Level.ERROR for p in inventory.problems)
    if inventory.stats.objects == 0 and not unreadable:  # unreadable documents already fail the run
        where = ", ".join(paths) or "."
        found.append(
            InputProblem(
                Location(where, 0, 0),
                Level.ERROR,
                "no-objects",
                f"no Kubernetes object found in {where} "
                f"({inventory.stats.files} file{'s' if inventory.stats.files != 1 else ''} read): nothing was "
                "checked. Render charts and overlays first (`helm template`, `kustomize build`) and check the path; "
                "--allow-input-errors accepts an empty input",
            )
        )
    for template in inventory.pod_templates:
        for use in template.images:
            if use.unresolved:
                found.append(
                    InputProblem(
                        use.location,
                        Level.ERROR,
                        "unrendered-image",
                        f"{template.owner}: {use.field.value[:-1] if use.field.value.endswith('s') else use.field.value}"
                        f" '{use.name}' has an un-rendered template expression as its image, so the image it "
                        "pulls cannot be judged: render it first (`helm template CHART`, `kustomize build DIR`, "
                        "or your substitution tool) and scan the output",
                    )
                )
    return found
