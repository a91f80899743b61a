"""`python -m ha ...` is `mysqlha ...`."""

import sys

from ha.cli import main

sys.exit(main())
