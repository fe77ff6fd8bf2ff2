import sys

from reevd.cli import main

sys.exit(main())
