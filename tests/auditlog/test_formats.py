"""`pullguard audit-log` in every report format: JUnit, Markdown and HTML besides text, JSON, SARIF."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditlog import auditgen as g
from auditlog.test_audit_log import (
    DEPLOYER,
    DEPLOYER_GROUPS,
    INVENTORY,
    forbidden_values,
    judged,
    leaky_log,
    run,
)
from pullguard.auditlog.report import MARKDOWN_LIMIT, render_html, render_junit, render_markdown
from pullguard.report.formats import Format, TextOptions, render_audit


def fresh(path: Path) -> Path:
    path.mkdir()
    return path


HOSTILE = "<script>alert('x')</script>|`*_[x](y)"  # a user name is whatever the authenticator says


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_and_never_prints_the_canary(tmp_path: Path, fmt: Format) -> None:
    log = leaky_log(tmp_path)
    assert g.dockerconfig() in log.read_text()  # the log really holds the secret's data
    result = run("audit-log", str(log), "--manifests", str(INVENTORY), "-f", fmt.value)
    assert result.returncode == 1, result.stderr
    out = result.stdout + result.stderr
    for value in forbidden_values():
        assert value not in out
    assert "PG015" in out and "PG040" in out and "mallory@corp.example" in out


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("reads.html", "<!DOCTYPE html>"),
        ("reads.md", "### pullguard audit-log"),
        ("reads.xml", "<testsuites"),
    ],
)
def test_format_from_the_output_extension(tmp_path: Path, name: str, marker: str) -> None:
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    out = tmp_path / name
    done = run("audit-log", str(log), "--manifests", str(INVENTORY), "-o", str(out))
    assert done.returncode == 1, done.stderr
    assert marker in out.read_text()


def test_an_unknown_extension_is_refused_not_rendered_as_text(tmp_path: Path) -> None:
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    refused = run("audit-log", str(log), "-o", str(tmp_path / "reads.pdf"))
    assert refused.returncode == 2 and "cannot tell the report format" in refused.stderr
    assert not (tmp_path / "reads.pdf").exists()


def test_junit_one_case_per_flagged_read_and_per_secret(tmp_path: Path) -> None:
    events = [
        g.event(verb="get", user="mallory", name="regcred"),
        g.event(verb="get", user="trudy", name="regcred", user_agent="curl/8.5.0"),
        g.event(verb="get", user=DEPLOYER, groups=DEPLOYER_GROUPS, name="regcred"),
        g.kubelet_get(),
    ]
    root = ET.fromstring(render_junit(judged(fresh(tmp_path / "a"), events)))
    assert root.tag == "testsuites"
    pg040 = next(s for s in root if s.get("name", "").startswith("PG040"))
    failing = [c for c in pg040.iter("testcase") if c.find("failure") is not None]
    assert sorted(c.get("name", "").rsplit(" ", 1)[1] for c in failing) == ["mallory", "trudy"]
    assert pg040.get("failures") == "2" and pg040.get("tests") == "2"
    assert root.get("failures") == "2"
    # only expected and allowed readers: the secret is one passing test case
    clean = ET.fromstring(render_junit(judged(fresh(tmp_path / "b"), events[2:])))
    (case,) = [c for c in clean.iter("testcase") if "regcred" in c.get("name", "")]
    assert list(case) == [] and "2 readers, each expected or allowed" in case.get("name", "")
    assert clean.get("failures") == "0" and clean.get("tests") == "2"  # and PG015: no findings


def test_junit_suppressed_findings_are_skipped_and_input_errors_are_errors(tmp_path: Path) -> None:
    manifest = tmp_path / "k8s" / "inventory.yaml"
    manifest.parent.mkdir()
    manifest.write_text(INVENTORY.read_text())
    (tmp_path / "k8s" / ".pullguard.yaml").write_text(
        "suppressions:\n  - {check: PG040, object: 'Secret shop/regcred', reason: on-call rota}\n"
    )
    log = g.write(tmp_path / "audit.log", [g.event(verb="get", user="mallory", name="regcred")])
    with log.open("a") as handle:
        handle.write("{not json\n")
    done = run("audit-log", str(log), "--manifests", str(manifest.parent), "-f", "junit")
    assert done.returncode == 2, done.stderr  # the unreadable line
    root = ET.fromstring(done.stdout)
    (skipped,) = list(root.iter("skipped"))
    assert skipped.get("message") == "suppressed: on-call rota"
    assert root.get("failures") == "0" and root.get("skipped") == "1" and root.get("errors") == "1"


def test_html_escapes_client_chosen_names_and_fetches_nothing(tmp_path: Path) -> None:
    events = [g.event(verb="get", user=HOSTILE, name="regcred", user_agent="<img src=x onerror=alert(1)>")]
    page = render_html(judged(tmp_path, events))
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "default-src 'none'" in page

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.links: list[tuple[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            self.links += [(k, v) for k, v in attrs if k in ("src", "href", "action")]

    parsed = Tags()
    parsed.feed(page)
    assert parsed.links == [] and "script" not in parsed.tags
    assert {"table", "meta", "style"} <= parsed.tags


def test_markdown_escapes_names_and_stays_under_the_comment_limit(tmp_path: Path) -> None:
    one = render_markdown(
        judged(fresh(tmp_path / "one"), [g.event(verb="get", user=HOSTILE, name="regcred")])
    )
    assert "<script>" not in one and "\\|" in one and "Left out" not in one
    # thousands of readers without a grant: more rows than a comment holds
    events = [g.event(verb="get", user=f"user-{n:05d}@corp.example", name="regcred") for n in range(3000)]
    result = judged(fresh(tmp_path / "many"), events)
    assert len(result.findings) == 3000
    text = render_markdown(result)
    assert len(text) < MARKDOWN_LIMIT
    assert "user-00000@corp.example" in text
    shown = sum(1 for line in text.splitlines() if line.startswith("| high | PG040 |"))
    assert 0 < shown < 3000
    assert f"… and {3000 - shown} more findings, left out to fit a comment." in text
    assert f"_Left out to stay under 65,536 characters: {3000 - shown} findings" in text
    small = render_markdown(result, limit=2_000)
    assert len(small) < 2_000 and "Left out" in small


def test_render_audit_dispatches_every_format(tmp_path: Path) -> None:
    result = judged(tmp_path, [g.event(verb="get", user="mallory", name="regcred")])
    for fmt in Format:
        out = io.StringIO()
        render_audit(result, fmt, out, TextOptions())
        assert "mallory" in out.getvalue(), fmt


def test_junit_stays_valid_xml_when_a_user_name_holds_control_characters(tmp_path: Path) -> None:
    """The authenticator's user name reaches the failure text: XML 1.0 has no escape for C0
    controls or lone surrogates, so CI servers would drop the whole file."""
    user = "mallory\x1b[31m\x07\ud800"
    xml = render_junit(judged(fresh(tmp_path / "a"), [g.event(verb="get", user=user, name="regcred")]))
    root = ET.fromstring(xml.encode("utf-8"))
    failures = [c for c in root.iter("failure")]
    assert failures and all("\x1b" not in (f.text or "") + f.get("message", "") for f in failures)
    assert "mallory" in (failures[0].text or "")
