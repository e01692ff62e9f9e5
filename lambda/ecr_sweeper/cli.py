"""Where the `ecr-sweeper` script finds the command line (`ecr_sweeper.cli:main`); the face itself is
faces/cli/."""

from ecr_sweeper.faces.cli.main import main

__all__ = ["main"]
