"""`python -m ecr_sweeper ...` runs the command-line tool."""

import sys

from ecr_sweeper.cli import main

sys.exit(main())
