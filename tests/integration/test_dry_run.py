"""Given expired and young untagged digests, when the sweep runs as a dry run (from the environment
or the event, optionally as of a later date), then nothing is deleted and the records and metrics
say what a real run would delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import NOW, SIZE, digests, untagged


@pytest.mark.parametrize(("env", "event"), [({"DRY_RUN": "true"}, None), ({}, {"dryRun": True})])
def test_dry_run_deletes_nothing_and_reports_what_it_would(
    ecr: Any, invoke: Invoke, env: dict[str, str], event: Any
) -> None:
    # Given an expired and a young untagged digest
    create_repository(ecr, "app", "3")
    old = untagged(ecr, "app", "old", 4)
    young = untagged(ecr, "app", "young", 1)

    # When a dry run is asked for by the environment or by the event
    run = invoke(event=event, env=env)

    # Then both stay, and the expired one is reported and counted as a real run would delete it
    assert digests(ecr, "app") == {old, young}
    [would] = run.records(action="would_delete")
    assert would["digest"] == old and would["dry_run"] is True and would["level"] == "INFO"
    assert run.records(action="deleted") == []
    assert run.metric("ImagesDeleted") == 1
    assert run.metric("BytesReclaimed") == SIZE
    assert run.result["dryRun"] is True  # type: ignore[index]
    assert run.result["imagesDeleted"] == 1  # type: ignore[index]


def test_dry_run_false_in_the_event_overrides_the_environment(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest
    create_repository(ecr, "app", "3")
    untagged(ecr, "app", "old", 4)

    # When the environment asks for a dry run and the event says dryRun false
    run = invoke(event={"dryRun": False}, env={"DRY_RUN": "true"})

    # Then the event wins: the digest is deleted
    assert digests(ecr, "app") == set()
    assert run.result["dryRun"] is False  # type: ignore[index]


def test_as_of_forecasts_what_a_later_run_would_delete(ecr: Any, invoke: Invoke) -> None:
    # Given digests 5 and 1 days old under retention 7
    create_repository(ecr, "app", "7")
    soon = untagged(ecr, "app", "soon", 5)
    later = untagged(ecr, "app", "later", 1)
    friday = (NOW + timedelta(days=3)).isoformat()

    # When a dry run is evaluated as of 3 days from now
    run = invoke(event={"dryRun": True, "asOf": friday})

    # Then only the one expired by then is announced, and nothing is deleted
    assert digests(ecr, "app") == {soon, later}
    assert [r["digest"] for r in run.records(action="would_delete")] == [soon]
    assert run.result["asOf"] == datetime.fromisoformat(friday).isoformat()  # type: ignore[index]


def test_as_of_with_dry_run_from_the_environment_is_accepted(ecr: Any, invoke: Invoke) -> None:
    # Given an untagged digest that will have expired by 2099
    create_repository(ecr, "app", "7")
    untagged(ecr, "app", "soon", 5)

    # When the event has asOf and the dry run comes from the environment
    run = invoke(event={"asOf": "2099-01-01T00:00:00Z"}, env={"DRY_RUN": "true"})

    # Then the run is accepted as a dry run
    assert run.error is None
    assert len(run.records(action="would_delete")) == 1
