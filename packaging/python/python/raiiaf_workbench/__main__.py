"""``python -m raiiaf_workbench ...`` is the ``raiiaf`` command."""

import sys

from ._cli import main

sys.exit(main())
