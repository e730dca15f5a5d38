"""``python -m sinapse``: see sinapse/cli.py."""

import sys

from .cli import main

sys.exit(main())
