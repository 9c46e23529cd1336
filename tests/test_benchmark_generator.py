"""benchmarks/generate.py: deterministic, exactly N documents, all parseable, every kind present."""

from __future__ import annotations

import codecs
import filecmp
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
N = 300

EXPECTED_KINDS = {
    "Namespace",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
    "ReplicaSet",
    "List",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generate = _load("generate")
bare_parse = _load("bare_parse")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "c"
    assert generate.main([str(out), "--documents", str(N), "--seed", "7"]) == 0
    return out


def _documents(root: Path) -> list[tuple[Path, Any]]:
    """Every top-level document, counted independently of the generator."""
    docs: list[tuple[Path, Any]] = []
    for path in sorted(root.rglob("*")):
        if path.suffix == ".json":
            docs.append((path, json.loads(path.read_text(encoding="utf-8"))))
        elif path.suffix in (".yaml", ".yml"):
            docs.extend(
                (path, d) for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            )
    return docs


def _objects(docs: list[tuple[Path, Any]]) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = []
    for _, doc in docs:
        objs.append(doc)
        if doc["kind"] == "List":
            objs.extend(doc["items"])
    return objs


def test_same_seed_gives_identical_tree(corpus: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate.generate(again, N, seed=7, files_per_namespace=4)
    cmp = filecmp.dircmp(corpus, again)

    def walk(c: filecmp.dircmp[str]) -> None:
        assert not c.left_only and not c.right_only and not c.funny_files, c.report()
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors
        for sub in c.subdirs.values():
            walk(sub)

    walk(cmp)


def test_other_seed_differs(corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate.generate(other, N, seed=8, files_per_namespace=4)
    assert _documents(other) != _documents(corpus)


def test_exactly_n_documents_all_parse(corpus: Path) -> None:
    docs = _documents(corpus)
    assert len(docs) == N
    for path, doc in docs:
        assert isinstance(doc, dict) and doc.get("kind") and doc.get("apiVersion"), path
    # The benchmark baseline sees the same count.
    files = bare_parse.manifest_files([str(corpus)])
    assert len(files) == len({p for p, _ in docs})
    json_docs = [d for p, d in docs if p.suffix == ".json"]
    assert json_docs, "some documents should be JSON files"
    assert any(d["kind"] == "List" for d in json_docs) or len(json_docs) < 10


@pytest.mark.parametrize("n", [1, 2, 7, 21, 45, 301])
def test_exact_count_for_odd_sizes(n: int, tmp_path: Path) -> None:
    documents, files, size = generate.generate(tmp_path / "c", n, seed=3, files_per_namespace=3)
    assert documents == n and files >= 1 and size > 0
    assert len(_documents(tmp_path / "c")) == n


def test_every_kind_present(corpus: Path) -> None:
    objs = _objects(_documents(corpus))
    kinds = Counter(o["kind"] for o in objs)
    assert set(kinds) >= EXPECTED_KINDS, EXPECTED_KINDS - set(kinds)
    secret_types = {o.get("type") for o in objs if o["kind"] == "Secret"}
    assert {"kubernetes.io/dockerconfigjson", "Opaque"} <= secret_types
    assert sum(kinds[k] for k in WORKLOADS) > N / 2, "workloads should be the bulk"
    assert any(o["kind"] == "List" and o.get("items") for o in objs)


def test_shapes_are_realistic(corpus: Path) -> None:
    objs = _objects(_documents(corpus))
    registries: set[str] = set()
    for o in objs:
        meta = o.get("metadata", {})
        for key in ("labels", "annotations"):
            for value in (meta.get(key) or {}).values():
                assert isinstance(value, str), (o["kind"], meta.get("name"), key, value)
        if o["kind"] == "Secret" and o["type"] == "kubernetes.io/dockerconfigjson":
            raw = codecs.decode(o["data"][".dockerconfigjson"].encode(), "base64")
            auths = json.loads(raw)["auths"]
            registries.update(auths)
            for entry in auths.values():
                assert entry.get("password", "bench-password-").startswith("bench-password-")
    assert registries <= set(generate.PULL_REGISTRIES)
    assert "registry.example.com" in registries or len(registries) >= 3

    images = [c["image"] for o in objs for c in _containers(o)]
    assert any("@sha256:" in i for i in images)
    assert any(i.startswith("registry.example.com/") for i in images)
    assert any(
        o["kind"] == "Namespace" and "pod-security.kubernetes.io/enforce" in o["metadata"]["labels"]
        for o in objs
    )
    assert any(o["kind"] == "ServiceAccount" and o.get("imagePullSecrets") for o in objs)
    assert any(o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "default" for o in objs)
    assert any(
        o["kind"] in ("Role", "ClusterRole") and any("secrets" in r["resources"] for r in o["rules"])
        for o in objs
    )
    assert any(_pod_spec(o).get("initContainers") for o in objs if o["kind"] in WORKLOADS)
    assert any(_pod_spec(o).get("imagePullSecrets") for o in objs if o["kind"] in WORKLOADS)


def _pod_spec(o: dict[str, Any]) -> dict[str, Any]:
    kind = o["kind"]
    if kind == "Pod":
        return dict(o["spec"])
    if kind == "CronJob":
        return dict(o["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(o["spec"]["template"]["spec"])


def _containers(o: dict[str, Any]) -> list[dict[str, Any]]:
    if o["kind"] not in WORKLOADS:
        return []
    spec = _pod_spec(o)
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_refuses_to_overwrite(corpus: Path, tmp_path: Path) -> None:
    assert generate.main([str(corpus), "--documents", "5"]) == 2
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    assert generate.main([str(foreign), "--documents", "5", "--force"]) == 2
    assert (foreign / "keep.txt").exists()


def test_bare_parse_decodes_boms(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(codecs.BOM_UTF8 + b"kind: A\n---\nkind: B\n")
    (tmp_path / "b.yaml").write_bytes("kind: C\r\n".encode("utf-16"))
    (tmp_path / "bad.yaml").write_bytes(b"a: [\n")
    (tmp_path / "skip.txt").write_bytes(b"kind: D\n")
    files = bare_parse.manifest_files([str(tmp_path)])
    assert len(files) == 3
    assert bare_parse.decode((tmp_path / "b.yaml").read_bytes()) == "kind: C\r\n"


def test_small_shape_has_fewer_lines_per_object_and_the_same_contents(corpus: Path, tmp_path: Path) -> None:
    """--shape small: exactly N documents, deterministic, 10 per namespace, a fraction of the
    bytes per document, and still every kind and what a credential audit reads."""
    out = tmp_path / "small"
    assert generate.main([str(out), "--documents", str(N), "--seed", "7", "--shape", "small"]) == 0
    again = tmp_path / "again"
    assert generate.main([str(again), "--documents", str(N), "--seed", "7", "--shape", "small"]) == 0
    assert not filecmp.dircmp(out, again).diff_files
    counts = json.loads(_bare_counts(out))
    assert counts["documents"] == N and counts["errors"] == 0
    large = json.loads(_bare_counts(corpus))
    assert counts["bytes"] / N < 0.3 * large["bytes"] / N
    assert len(list((out / "namespaces").iterdir())) == N // 10
    kinds: Counter[str] = Counter()
    pull_secrets = images = 0
    for path in out.rglob("*.yaml"):
        text = path.read_text()
        images += text.count("image: ")
        for doc in yaml.safe_load_all(text):
            kinds[doc["kind"]] += 1
            pull_secrets += doc.get("type") == "kubernetes.io/dockerconfigjson"
    assert set(kinds) | {"List"} >= WORKLOADS
    assert pull_secrets and images


def _bare_counts(path: Path) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert bare_parse.main([str(path)]) == 0
    return out.getvalue()
