"""The ``raiiaf`` command that pip installs: the workbench's command line and window."""

from __future__ import annotations

import signal
import sys

from . import _native


def main() -> int:
    """Runs ``raiiaf`` with this process's arguments and returns its exit status."""
    # As the native program does: Ctrl-C ends the process (verify sets its own handler and
    # writes its partial report), and a closed pipe is an error to report, not a signal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _native.run_cli(["raiiaf", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
