"""The baseline for `make bench`: read and YAML-parse every manifest file, nothing else.

    python benchmarks/bare_parse.py PATH...

Walks each PATH (a directory or a file) for .yaml / .yml / .json files, reads each file, decodes
it (UTF-8, skipping a UTF-8 BOM; UTF-16 or UTF-32 when a BOM says so) and consumes
``yaml.load_all(text, Loader=yaml.CSafeLoader)``. A file that fails to decode or parse is
counted and skipped. Prints one JSON line with the counts: files, documents (non-null
top-level documents; a List is one), empty_documents, bytes, errors.
"""

from __future__ import annotations

import codecs
import json
import os
import sys

import yaml

EXTENSIONS = (".yaml", ".yml", ".json")


def decode(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return raw.decode("utf-32")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def manifest_files(paths: list[str]) -> list[str]:
    found: list[str] = []
    for root in paths:
        if os.path.isfile(root):
            found.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            found.extend(
                os.path.join(dirpath, name) for name in sorted(filenames) if name.lower().endswith(EXTENSIONS)
            )
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: bare_parse.py PATH...", file=sys.stderr)
        return 2
    files = documents = empty = size = errors = 0
    loader = yaml.CSafeLoader
    for path in manifest_files(argv):
        files += 1
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
            size += len(raw)
            text = decode(raw)
            for doc in yaml.load_all(text, Loader=loader):
                if doc is None:
                    empty += 1
                else:
                    documents += 1
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError):
            errors += 1
    print(
        json.dumps(
            {
                "files": files,
                "documents": documents,
                "empty_documents": empty,
                "bytes": size,
                "errors": errors,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
