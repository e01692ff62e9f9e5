"""A safe first week: after the first run, runs not told otherwise are dry runs for PREVIEW_DAYS days,
and say when deleting starts; then the sweeper runs hands-off."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto.core.exceptions import JsonRESTError
from moto.ssm.responses import SimpleSystemManagerResponse

from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.images import digests

NOW = datetime.now(timezone.utc)
PARAMETER = "/ecr-sweeper/EcrSweeper/first-run"
SCHEDULED = {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
PREVIEW = {"PREVIEW_DAYS": "7", "FIRST_RUN_PARAMETER": PARAMETER}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def ssm(ecr: Any) -> Any:
    client = boto3.client("ssm", region_name="us-east-1")
    # What the stack creates: "-" until the first run records itself.
    client.put_parameter(Name=PARAMETER, Value="-", Type="String")
    return client


def first_run(ssm: Any) -> str:
    return str(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])


def expired(ecr: Any) -> str:
    create_repository(ecr, "app", "1")
    return push(ecr, "app", "old", pushed_at=ago(30))


def test_the_first_run_records_itself_and_only_says_what_it_would_delete(ecr: Any, ssm: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest, a preview of 7 days, and no first run recorded yet
    old = expired(ecr)

    # When the schedule runs the function for the first time
    run = invoke(event=SCHEDULED, env=PREVIEW)

    # Then nothing is deleted
    assert run.error is None
    assert digests(ecr, "app") == {old}, "nothing is deleted in the first week"
    # And the first run is recorded as now
    recorded = datetime.fromisoformat(first_run(ssm))
    assert abs(recorded - datetime.now(timezone.utc)) < timedelta(minutes=1)
    # And the run is a dry run in preview, and says that deleting starts 7 days after the first run
    starts = (recorded + timedelta(days=7)).date().isoformat()
    assert run.result is not None
    assert run.result["dryRun"] is True and run.result["preview"] is True
    assert run.result["deletingStarts"] == starts
    [repository] = run.records(record_type="repository_summary")
    assert repository["preview"] is True and repository["deleting_starts"] == starts
    # And it records and counts the would-be deletion, and its notice gives the day deleting starts
    # The same records and metrics as any dry run: the dashboard shows what the first night will do.
    [would] = run.records(action="would_delete")
    assert would["digest"] == old
    assert run.metric("ImagesDeleted") == 1
    [notice] = run.records(record_type="preview")
    assert starts in notice["message"]


def test_a_run_inside_the_week_is_a_preview_and_a_run_after_it_deletes(ecr: Any, ssm: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest, and a first run 6.9 days ago
    old = expired(ecr)
    ssm.put_parameter(Name=PARAMETER, Value=ago(6.9).isoformat(), Type="String", Overwrite=True)

    # When the schedule runs the function, then the run is a preview and nothing is deleted
    inside = invoke(event=SCHEDULED, env=PREVIEW)
    assert inside.result is not None and inside.result["preview"] is True
    assert digests(ecr, "app") == {old}

    # When the first run is moved to 7.1 days ago, and the schedule runs the function again
    ssm.put_parameter(Name=PARAMETER, Value=ago(7.1).isoformat(), Type="String", Overwrite=True)
    after = invoke(event=SCHEDULED, env=PREVIEW)

    # Then the run is real, the digest is deleted, and no start of deleting is given
    assert after.result is not None and after.result["preview"] is False and after.result["dryRun"] is False
    assert digests(ecr, "app") == set()
    assert after.result["deletingStarts"] is None


def test_an_explicit_dry_run_false_still_deletes_in_the_first_week(ecr: Any, ssm: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest, and a first run one day ago
    expired(ecr)
    ssm.put_parameter(Name=PARAMETER, Value=ago(1).isoformat(), Type="String", Overwrite=True)

    # When the function runs with an explicit dryRun false
    run = invoke(event={"dryRun": False}, env=PREVIEW)

    # Then the run is not a preview, and the digest is deleted
    assert run.result is not None and run.result["preview"] is False
    assert digests(ecr, "app") == set()


def test_a_missing_parameter_makes_a_dry_run_that_records_the_first_run(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest, a preview of 7 days, and no first-run parameter at all
    old = expired(ecr)

    # When the schedule runs the function
    run = invoke(event=SCHEDULED, env=PREVIEW)

    # Then nothing is deleted, the run is a preview, and the first run is recorded as now
    assert digests(ecr, "app") == {old}
    assert run.result is not None and run.result["preview"] is True
    parameter = boto3.client("ssm", region_name="us-east-1").get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    assert datetime.fromisoformat(parameter) > NOW - timedelta(minutes=1)


def test_an_unreadable_parameter_makes_a_dry_run(
    ecr: Any, ssm: Any, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an expired untagged digest, and a first-run parameter that the function may not read
    old = expired(ecr)

    def denied(self: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: ssm:GetParameter")

    monkeypatch.setattr(SimpleSystemManagerResponse, "get_parameter", denied)

    # When the schedule runs the function
    run = invoke(event=SCHEDULED, env=PREVIEW)

    # Then the run succeeds as a preview and deletes nothing
    assert run.error is None
    assert digests(ecr, "app") == {old}
    assert run.result is not None and run.result["preview"] is True
    # And it warns why it could not read the parameter
    [warning] = run.records(record_type="preview_error")
    assert "AccessDeniedException" in warning["message"] and warning["level"] == "WARNING"


def test_without_preview_days_the_function_previews_nothing(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest, and no preview days set
    expired(ecr)

    # When the schedule runs the function
    run = invoke(event=SCHEDULED)

    # Then the digest is deleted, and the run is not a preview
    assert digests(ecr, "app") == set()
    assert run.result is not None and run.result["preview"] is False
