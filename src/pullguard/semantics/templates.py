"""Un-rendered template expressions (Helm/Go `{{ }}`, Jinja `{% %}`, shell/Kustomize `${ }`).

A value holding one was never rendered: it is not a Kubernetes value to judge.
"""

from __future__ import annotations

import re

TEMPLATE_MARKER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{[^}\n]*\}", re.DOTALL)


def has_template_marker(text: str) -> bool:
    return TEMPLATE_MARKER.search(text) is not None
