"""The error hierarchy. Every error pullguard raises on purpose is a PullguardError.

Messages name the object and location, never a secret value: the CLI prints them
(`printed`) as one line, a ConfigError with one more line per problem, and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable


class PullguardError(Exception):
    """Base of every error pullguard raises on purpose."""

    def lines(self) -> tuple[str, ...]:
        """The message as the lines it is printed on: here one, the whole message."""
        return (str(self),)


def printed(error: PullguardError | str) -> list[str]:
    """The lines the CLI prints for an error: `pullguard: MESSAGE`, then each further line
    indented. Each line is made safe on its own (`text_safety.one_line`): text from the input
    (a key in a configuration file, a name in a manifest) can neither start a line of its own
    nor carry a control character to the terminal."""
    from pullguard.text_safety import one_line

    first, *rest = error.lines() if isinstance(error, PullguardError) else (error,)
    return [f"pullguard: {one_line(first)}", *(f"  {one_line(line)}" for line in rest)]


class InputError(PullguardError):
    """A file, document or field that cannot be read as it should be."""


class DocumentValueError(InputError):
    """A value in a document that cannot be built (an unknown YAML tag, an impossible date, a
    merge key onto a scalar). `line` is where; `field` the key it belongs to, once known.
    The message never quotes the value."""

    def __init__(self, line: int, reason: str, field: str | None = None) -> None:
        where = ", ".join(([f"field {field!r}"] if field else []) + ([f"line {line}"] if line else []))
        super().__init__(f"{where}: {reason}" if where else reason)
        self.line = line
        self.reason = reason
        self.field = field


class InvalidImageReference(InputError):
    """An image string that is not a valid distribution reference."""

    def __init__(self, reference: str, reason: str) -> None:
        # Image references are not secret; keep the text short in messages.
        from pullguard.text_safety import redact_image

        shown = redact_image(reference)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        super().__init__(f"invalid image reference {shown!r}: {reason}")
        self.reference = reference
        self.reason = reason


class DockerConfigError(InputError):
    """A .dockerconfigjson / .dockercfg payload the kubelet would fail to decode.

    The reason never quotes the payload: it may hold a password.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigError(PullguardError):
    """The pullguard configuration file or command line is wrong. `problems`, when given, are
    the faults found (one each, `FILE:LINE: FIELD: what is wrong`) under the headline `message`;
    the CLI prints one per line."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.message = message
        self.problems = tuple(problems)
        super().__init__("\n  ".join((message, *self.problems)))

    def lines(self) -> tuple[str, ...]:
        return (self.message, *self.problems)


class RegistryError(PullguardError):
    """A registry could not be asked (used by `verify`)."""


class ClusterError(PullguardError):
    """The Kubernetes API could not be read (used by the cluster source)."""


class UsageError(PullguardError):
    """A command line that cannot be carried out as given (exit 2, like click's usage errors)."""
