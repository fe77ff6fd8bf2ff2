"""`python -m runner` is `reev-runner`."""

import sys

from runner.cli import main

sys.exit(main())
