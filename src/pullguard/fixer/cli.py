"""`pullguard fix PATH`: the command."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from pullguard import cli_options as opt
from pullguard.text_safety import one_line

EXIT_CLEAN, EXIT_FIXES, EXIT_ERROR = 0, 1, 2


def _yaml_files(paths: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for path in paths:
        if path == "-":
            raise click.UsageError("fix edits files: standard input cannot be fixed")
        target = Path(path)
        if target.is_dir():
            found += sorted(
                str(p) for p in target.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
        elif target.is_file():
            found.append(str(target))
        else:
            raise click.UsageError(f"{path}: no such file or directory")
    return found


def _say(line: str) -> None:
    """One line on standard error, control characters of file and object names escaped."""
    click.echo(one_line(line), err=True)


def _write_atomically(path: str, data: bytes) -> None:
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".pullguard")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.command("fix")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--write", is_flag=True, help="Write the fixes (default: print a unified diff).")
@opt.namespace_option("Namespace for objects that do not name one.")
@opt.config_options()
@opt.visibility_options("Registry pattern the nodes can pull from with their own identity (as for scan).")
@opt.allow_input_errors_option()
def fix(
    paths: tuple[str, ...],
    write: bool,
    namespace: str,
    config_path: str | None,
    no_config: bool,
    private_registries: tuple[str, ...],
    public_registries: tuple[str, ...],
    node_credentials: tuple[str, ...],
    assume_private: bool,
    allow_input_errors: bool,
) -> None:
    """Fix manifest files the way the findings say, keeping comments and formatting.

    Fixes what a file can carry safely: a pull secret's wrong type (PG003), a
    missing imagePullSecrets reference when a pull secret in the files covers the
    image (PG001: added to the pod template's list, else to its ServiceAccount's),
    an auths key that misses the image's port (PG004/PG001: the kubelet matches
    ports exactly; the credential is kept byte for byte), a reference to a secret
    that does not exist and that no image needs (PG002: removed; one the scan's
    fix plan creates is kept, with the command to create it). Never shows a
    credential: Secret data in the diff is replaced by a placeholder. Prints a
    unified diff; --write writes the files, each in its own encoding (UTF-8, or
    UTF-16/32 with a byte-order mark) and line endings.

    Input that cannot be read (invalid YAML, a binary file, an unknown YAML tag)
    is listed on standard error as scan lists it; the fixes of everything else
    are still shown or written.

    \b
    Exit codes: 0 nothing to fix (or --write wrote every fix); 1 fixes shown,
    not written; 2 usage error or unreadable input (unless --allow-input-errors).

    \b
    Examples:
      pullguard fix k8s/                 # show the diff
      pullguard fix k8s/ --write         # apply it
      pullguard fix k8s/ | git apply     # a patch, unless it changes Secret data
    """
    from pullguard.cli import _guarded

    files = _yaml_files(paths)
    sys.exit(
        _guarded(
            lambda: _fix(
                paths,
                files,
                write,
                namespace,
                config_path,
                no_config,
                (private_registries, public_registries, node_credentials),
                assume_private,
                allow_input_errors,
            )
        )
    )


def _fix(
    paths: tuple[str, ...],
    files: list[str],
    write: bool,
    namespace: str,
    config_path: str | None,
    no_config: bool,
    patterns: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]],
    assume_private: bool,
    allow_input_errors: bool,
) -> int:
    """The fix command's work; returns its exit code."""
    from pullguard.checks import REGISTRY
    from pullguard.config import resolve_config, scan_options
    from pullguard.fixer.masking import masked_diff
    from pullguard.fixer.plan import plan_fixes
    from pullguard.report.console import plural
    from pullguard.report.problems import problem_lines
    from pullguard.scan import scan_paths

    private_registries, public_registries, node_credentials = patterns
    config = resolve_config(config_path, no_config, list(paths), frozenset(REGISTRY))
    options = scan_options(
        config,
        default_namespace=namespace,
        private_patterns=private_registries,
        public_patterns=public_registries,
        node_patterns=node_credentials,
        assume_private=assume_private,
        disabled_checks=(),
        max_age_days=None,
    )
    result = scan_paths(list(paths), options)
    plan = plan_fixes(result, files, namespace)
    changed = plan.changed()
    zero_context: list[str] = []
    masked: list[str] = []
    transcoded: list[str] = []  # not UTF-8: the diff (UTF-8 text) is no patch of the file's bytes
    for path, (before, after) in changed.items():
        shown = os.path.relpath(path)
        encoding = plan.files[path].encoding
        if write:
            try:
                _write_atomically(path, encoding.encode(after))
            except OSError as error:
                _say(f"pullguard: cannot write {error.filename or shown}: {error.strerror or error}")
                return EXIT_ERROR
            continue
        notes = {(doc, key): note for (p, doc, key), note in plan.value_notes.items() if p == path}
        diff = masked_diff(shown, encoding.shown(before), encoding.shown(after), plan.secret_values, notes)
        sys.stdout.writelines(diff.lines)
        if not encoding.patchable:
            transcoded.append(f"{shown} ({encoding.name})")
        elif diff.masked_changes:
            masked.append(shown)
        elif diff.zero_context:
            zero_context.append(shown)
    if zero_context:
        _say(
            f"note: the diff of {', '.join(zero_context)} has no context lines, which would show Secret data or "
            "a credential in an image reference: apply it with `git apply --unidiff-zero`, or use --write"
        )
    if masked:
        _say(
            f"note: the diff of {', '.join(masked)} changes Secret data, which is never shown: it is no patch "
            "to apply; use --write (the credential is written back unchanged under the fixed key)"
        )
    if transcoded:
        _say(
            f"note: the diff of {', '.join(transcoded)} shows its text as UTF-8: it is no patch to apply; "
            "use --write (the file is written back in its own encoding)"
        )
    for line in plan.applied:
        _say(("fixed: " if write else "fix: ") + line)
    for line in plan.manual:
        _say(f"not fixed: {line}")
    verb = "fixed" if write else "fixable"
    _say(
        f"{len(plan.applied)} {verb} in {plural(len(changed), 'file')}; {len(plan.manual)} left to do by hand"
    )
    if result.problems:  # as scan lists them: what was not read is not fixed either
        errors = result.summary.input_errors
        _say(f"Input problems: {plural(errors, 'error')}, {plural(len(result.problems) - errors, 'warning')}")
        for _, line in problem_lines(result.problems):
            _say(line)
    if result.summary.input_errors and not allow_input_errors:
        return EXIT_ERROR
    return EXIT_FIXES if changed and not write else EXIT_CLEAN
