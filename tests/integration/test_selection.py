"""Given several repositories, when the event names some of them, then only those are swept, and a
name that does not exist fails the run after the others were swept."""

from __future__ import annotations

from typing import Any

from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import digests, untagged


def test_repositories_filter_sweeps_only_those(ecr: Any, invoke: Invoke) -> None:
    # Given three repositories, each with an expired untagged digest
    for name in ("alpha", "beta", "gamma"):
        create_repository(ecr, name, "1")
        untagged(ecr, name, name, 5)

    # When the event names two of them
    run = invoke(event={"repositories": ["alpha", "gamma"]})

    # Then only those two are swept
    assert digests(ecr, "alpha") == set() and digests(ecr, "gamma") == set()
    assert len(digests(ecr, "beta")) == 1
    assert run.result["repositoriesScanned"] == 2  # type: ignore[index]


def test_repositories_filter_naming_a_missing_repository_fails_loudly_after_the_rest(ecr: Any, invoke: Invoke) -> None:
    # Given one repository with an expired untagged digest
    create_repository(ecr, "alpha", "1")
    untagged(ecr, "alpha", "a", 5)

    # When the event names it and a repository that does not exist
    run = invoke(event={"repositories": ["alpha", "no-such-repo"]})

    # Then the existing one is swept, and the run fails naming the missing one
    assert digests(ecr, "alpha") == set()
    assert run.error is not None and "no-such-repo" in str(run.error)
    assert run.metric("RepositoryErrors") == 1
