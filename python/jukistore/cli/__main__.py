import sys

from jukistore.cli import main

sys.exit(main())
