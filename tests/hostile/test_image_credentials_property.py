"""For any password written into an image reference, in any of the shapes a credential takes
there (URL userinfo, however broken the scheme; a query; a fragment), no report format of a
scan shows it, nor `fix`'s diff.

Each password carries a marker that nothing else in the input or the reports holds, so a report
that shows the marker shows (part of) the password: a stricter test than looking for the whole
password, which could also be text any report holds (`app:1`, `example`).
"""

from __future__ import annotations

import contextlib
import html
import json
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pullguard.cli import main

MARKER = "Qz7Kw"
DIGEST = "sha256:" + "0123456789abcdef" * 4
SHAPES = [
    "https://ci:{pw}@reg.corp.example/app:1",
    "//ci:{pw}@reg.corp.example/app:1",
    "https:/ci:{pw}@reg.corp.example/app:1",
    "oci://{pw}@reg.corp.example/app:1",
    "ci:{pw}@reg.corp.example/team/app:1",
    "reg.corp.example/app:1?token={pw}",
    "reg.corp.example/app:1#{pw}",
    "reg.corp.example:5000/app?u=ci&p={pw}#top",
    "https://ci:{pw}@reg.corp.example/app:1@" + DIGEST,
    "reg.corp.example/app@" + DIGEST + "?token={pw}",
]
FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")

# Arbitrary text, biased towards the characters that delimit the parts of a URL.
_CHARACTER = st.one_of(
    st.sampled_from([*list("/ @:?#%&=.-_~+*[]\"'\\"), "sha256:", "reg.corp.example/app:1", "//"]),
    st.characters(blacklist_categories=("Cs",)),
)
_TEXT = st.lists(_CHARACTER, max_size=8).map("".join)
PASSWORDS = st.builds(lambda before, after: before + MARKER + after, _TEXT, _TEXT).filter(
    lambda pw: len(pw) >= 6
)


def _manifest(password: str) -> str:
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{index}", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": shape.format(pw=password)}]},
        }
        for index, shape in enumerate(SHAPES)
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})


def _texts(output: str) -> list[str]:
    """The report as written, and as a reader decodes it (JSON strings, XML/HTML entities)."""
    texts = [output, html.unescape(output)]
    with contextlib.suppress(ValueError):
        texts.append(json.dumps(json.loads(output), ensure_ascii=False))
    return texts


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PASSWORDS)
def test_no_report_shows_a_password_in_an_image(password: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "pods.json"
        path.write_text(_manifest(password), encoding="utf-8")
        runner = CliRunner()
        for output_format in FORMATS:
            extra = ["--images"] if output_format == "text" else []
            done = runner.invoke(
                main,
                ["scan", str(path), "-f", output_format, "--assume-private", "--fail-on", "never", *extra],
            )
            assert done.exit_code == 0, done.output
            for text in _texts(done.output):
                assert MARKER not in text, (output_format, password)
                assert password not in text, (output_format, password)
            if output_format == "json":  # every pod's image is listed, redacted
                images = json.loads(done.output)["images"]
                assert len(images) == len(SHAPES)
                assert all("***" in item["image"] for item in images)


@settings(max_examples=2000, deadline=None)
@given(PASSWORDS, st.sampled_from(SHAPES))
def test_redact_image_hides_any_password_in_any_shape(password: str, shape: str) -> None:
    from pullguard.text_safety import redact_image

    shown = redact_image(shape.format(pw=password))
    assert MARKER not in shown
    assert "***" in shown


_URL_PASSWORDS = st.builds(
    lambda before, after: before + MARKER + after,
    *[
        st.text(
            st.characters(blacklist_categories=("Cs", "Z", "Cc"), blacklist_characters="'\"<>"), max_size=8
        )
    ]
    * 2,
)


@settings(max_examples=1000, deadline=None)
@given(_URL_PASSWORDS, st.sampled_from(["https://", "oci://", "//", "https:/", "HTTP://"]))
def test_redact_userinfo_hides_any_password_in_a_url_in_text(password: str, scheme: str) -> None:
    """Free text (an API server's or registry's message) can quote a URL: its userinfo ends at the
    last `@` before white space or a quote that does not start a digest."""
    from pullguard.text_safety import redact_userinfo

    text = f'pull of "{scheme}ci:{password}@reg.corp.example/app:1" failed: see {scheme}{password}@reg/x ok'
    shown = redact_userinfo(text)
    assert MARKER not in shown
    assert shown.endswith("reg/x ok")


@given(st.sampled_from(["nginx", "reg.corp.example/app:1", "localhost:5000/a/b", "gcr.io/p/app"]))
def test_digests_are_kept(name: str) -> None:
    from pullguard.text_safety import redact_image, redact_userinfo

    for image in (f"{name}@{DIGEST}", f"{name}@sha256:123456"):
        assert redact_image(image) == image
        assert redact_userinfo(f"https://{image}") == f"https://{image}"
