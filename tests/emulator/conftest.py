"""The emulator's own contract tests use the integration tests' fixtures: the test's ECR client (`ecr`),
the corrected emulator served on 127.0.0.1 (`local_endpoint`), and, for every test as there, the check
that each AWS call the code makes is one ecr_sweeper.permissions lists (`calls_in_the_inventory`)."""

from __future__ import annotations

from tests.integration.conftest import calls_in_the_inventory, ecr, local_endpoint

__all__ = ["calls_in_the_inventory", "ecr", "local_endpoint"]
