"""``python -m jukistore``: the command line, as the ``jukistore`` script runs it."""

import sys

from jukistore.cli import main

sys.exit(main())
