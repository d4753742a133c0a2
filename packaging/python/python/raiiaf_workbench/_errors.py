"""The package's exception."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from ._container import Check, Container


class FormatError(ValueError):
    """A file that is damaged, foreign or hostile: unreadable, or readable with a failed check.

    ``str(error)`` names the file, its verdict and the first failing check (its code, where it
    is and what was found). The attributes say the rest:

    - ``name``: the file's path or name;
    - ``verdict``: ``"invalid"`` or ``"unreadable"``;
    - ``code``: the first failed check's code (as ``raiiaf verify`` reports it), or the kind of
      error that made the file unreadable (``"not_raiiaf"``, ``"truncated"``, ``"corrupt"``,
      ``"limit_exceeded"``, ...);
    - ``failures``: every failed check;
    - ``container``: what could still be read (a :class:`Container`), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        verdict: str = "unreadable",
        code: Optional[str] = None,
        failures: Sequence["Check"] = (),
        container: Optional["Container"] = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.verdict = verdict
        self.code = code
        self.failures = list(failures)
        self.container = container
