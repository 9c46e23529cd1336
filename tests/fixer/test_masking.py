"""The diff of `pullguard fix` never shows a Secret value, whatever its YAML style or what changed."""

from __future__ import annotations

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pullguard.fixer.masking import masked_diff, secret_lines

CANARY = "canary-mask-51d2-never-shown"


def _value_forms(value: str) -> list[str]:
    """One `.dockerconfigjson` entry in each style a manifest may use (at mapping indentation 2)."""
    one_line = value.replace("\n", " ")
    encoded = base64.b64encode(value.encode()).decode()
    return [
        f"  .dockerconfigjson: {encoded}\n",
        f'  .dockerconfigjson: "{encoded}"\n',
        "  .dockerconfigjson: |\n" + "".join(f"    {line}\n" for line in value.splitlines()),
        f"  .dockerconfigjson: '{one_line}'\n",
        "  .dockerconfigjson: >-\n" + "".join(f"    {line}\n" for line in value.splitlines()),
        f"  .dockerconfigjson:\n    {encoded}\n",
    ]


def _document(section: str, form: str, kind_first: bool, comment: str) -> str:
    head = "kind: Secret\napiVersion: v1\n" if kind_first else "apiVersion: v1\nkind: Secret\n"
    return f"{head}metadata:\n  name: s{comment}\ntype: Opaque\n{section}:\n{form}  other: x\n"


values = st.sampled_from(
    [
        f'{{"auths": {{"r.example": {{"password": "{CANARY}"}}}}}}',
        f'{{\n  "auths": {{\n    "r.example": {{\n      "password": "{CANARY}"\n    }}\n  }}\n}}',
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    value=values,
    form=st.integers(min_value=0, max_value=5),
    new_form=st.integers(min_value=0, max_value=5),
    section=st.sampled_from(["data", "stringData"]),
    kind_first=st.booleans(),
    comment=st.sampled_from(["", "   # c"]),
    change_type=st.booleans(),
    change_value=st.booleans(),
    other_before=st.booleans(),
)
def test_no_line_of_a_secret_value_is_shown(
    value: str,
    form: int,
    new_form: int,
    section: str,
    kind_first: bool,
    comment: str,
    change_type: bool,
    change_value: bool,
    other_before: bool,
) -> None:
    before_doc = _document(section, _value_forms(value)[form], kind_first, comment)
    changed = value.replace("r.example", "r.example:5000") if change_value else value
    after_doc = _document(
        section, _value_forms(changed)[new_form if change_value else form], kind_first, comment
    )
    if change_type:
        after_doc = after_doc.replace("type: Opaque", "type: kubernetes.io/dockerconfigjson")
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n"
    before = (other + "---\n" + before_doc) if other_before else (before_doc + "---\n" + other)
    after = (other + "---\n" + after_doc) if other_before else (after_doc + "---\n" + other)
    diff = masked_diff("f.yaml", before, after, set(), {})
    shown = "".join(diff.lines)
    for secret in (
        CANARY,
        base64.b64encode(value.encode()).decode(),
        base64.b64encode(changed.encode()).decode(),
    ):
        assert secret not in shown
    assert "password" not in shown
    if change_type:
        assert "+type: kubernetes.io/dockerconfigjson" in shown


def test_every_line_of_a_block_value_is_known() -> None:
    text = _document("stringData", _value_forms(f'{{\n  "p": "{CANARY}"\n}}')[2], False, "")
    lines = secret_lines(text)
    numbered = text.splitlines()
    assert {numbered[n] for n in lines} == {
        "  .dockerconfigjson: |",
        "    {",
        f'      "p": "{CANARY}"',
        "    }",
        "  other: x",
    }


def test_the_last_applied_configuration_of_a_secret_is_masked() -> None:
    """`kubectl get -o yaml` output keeps the whole Secret, stringData JSON escaped, in an annotation."""
    inner = json.dumps({"password": CANARY}, indent=2)
    annotation = json.dumps({"stringData": {".dockerconfigjson": inner}})
    before = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n"
        f"    kubectl.kubernetes.io/last-applied-configuration: '{annotation}'\ntype: Opaque\n"
    )
    after = before.replace("type: Opaque", "type: kubernetes.io/dockerconfigjson")
    diff = masked_diff("f.yaml", before, after, set(), {})
    shown = "".join(diff.lines)
    assert CANARY not in shown and "+type: kubernetes.io/dockerconfigjson" in shown
    assert diff.zero_context  # the annotation would have been a context line
