"""Run-time state that no deploy can reset: the first run and the rotation cursors live in SSM
parameters the function creates itself (CURSOR_PARAMETER, FIRST_RUN_PARAMETER), which no stack
defines. CloudFormation's AWS::SSM::Parameter update handler puts the template's value again, with
Overwrite, on any update of the resource, stack tags included (aws-cloudformation-resource-providers-ssm,
UpdateHandler); a parameter of the stack would go back to "-" on such a deploy.

Versions before kept the same state in parameters of the stack (the LEGACY_ ones): an upgrade keeps
what they recorded, read while the function's own parameter does not exist yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from ecr_sweeper.core.rotation import Position
from emulator.identity import OWN
from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import digests, untagged
from tests.integration.test_rotation import OneRepository, swept

SCHEDULED = {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
STATE = "/ecr-sweeper/EcrSweeper/state"
LEGACY = "/ecr-sweeper/EcrSweeper"
ENV = {
    "PREVIEW_DAYS": "7",
    "FIRST_RUN_PARAMETER": f"{STATE}/first-run",
    "LEGACY_FIRST_RUN_PARAMETER": f"{LEGACY}/first-run",
    "CURSOR_PARAMETER": f"{STATE}/next-start",
    "LEGACY_CURSOR_PARAMETER": f"{LEGACY}/next-start",
    "MAX_WORKERS": "1",
}


@pytest.fixture
def ssm(ecr: Any) -> Any:
    return boto3.client("ssm", **OWN)


def value(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def deploy_resets(ssm: Any) -> None:
    """What a deploy that updates the old stack's parameters does: puts their template value back."""
    for name in (f"{LEGACY}/first-run", f"{LEGACY}/next-start"):
        ssm.put_parameter(Name=name, Value="-", Type="String", Overwrite=True)


def test_an_upgrade_keeps_the_preview_week_the_old_stack_recorded(ecr: Any, ssm: Any, invoke: Invoke) -> None:
    # Given an old stack whose first run was three days ago, recorded in its own parameter
    create_repository(ecr, "app", "1")
    old = untagged(ecr, "app", "old", days=30)
    first = datetime.now(timezone.utc) - timedelta(days=3)
    ssm.put_parameter(Name=f"{LEGACY}/first-run", Value=first.isoformat(), Type="String")

    # When the upgraded function runs for the first time
    run = invoke(event=SCHEDULED, env=ENV)

    # Then the preview week goes on from that first run, not from today
    starts = (first + timedelta(days=7)).date().isoformat()
    assert run.result is not None and run.result["preview"] is True and run.result["deletingStarts"] == starts
    assert digests(ecr, "app") == {old}
    # and the time is now kept where no deploy writes, the old parameter left as it was
    assert value(ssm, f"{STATE}/first-run") == first.isoformat()
    assert value(ssm, f"{LEGACY}/first-run") == first.isoformat()

    # When a later deploy puts the old parameter's template value back, the week still ends then
    deploy_resets(ssm)
    again = invoke(event=SCHEDULED, env=ENV)
    assert again.result is not None and again.result["deletingStarts"] == starts


def test_a_deploy_that_rewrites_the_stacks_parameters_starts_no_new_preview_week(
    ecr: Any, ssm: Any, invoke: Invoke
) -> None:
    # Given a new install whose first run recorded itself eight days ago
    create_repository(ecr, "app", "1")
    untagged(ecr, "app", "old", days=30)
    ssm.put_parameter(Name=f"{LEGACY}/first-run", Value="-", Type="String")
    first = invoke(event=SCHEDULED, env=ENV)
    assert first.result is not None and first.result["preview"] is True
    recorded = datetime.now(timezone.utc) - timedelta(days=8)
    ssm.put_parameter(Name=f"{STATE}/first-run", Value=recorded.isoformat(), Type="String", Overwrite=True)

    # When a deploy (a stack tag, a new description) rewrites the stack's own parameters
    deploy_resets(ssm)
    run = invoke(event=SCHEDULED, env=ENV)

    # Then the preview is over all the same: the digest is deleted
    assert run.result is not None and run.result["preview"] is False
    assert digests(ecr, "app") == set()


def test_an_upgrade_resumes_the_rotation_the_old_stack_recorded_and_never_writes_its_parameter(
    ecr: Any, ssm: Any, invoke: Invoke
) -> None:
    # Given three repositories, and an old stack whose cursor says the next run starts at "bb"
    for name in ("aa", "bb", "cc"):
        create_repository(ecr, name, "1")
        untagged(ecr, name, name, days=5)
    recorded = Position(start="bb").encode()
    ssm.put_parameter(Name=f"{LEGACY}/next-start", Value=recorded, Type="String")
    env = {**ENV, "PREVIEW_DAYS": "0"}

    # When the upgraded function runs with time for one repository
    run = invoke(env=env, context=OneRepository())

    # Then it starts at "bb", and keeps the next start in its own parameter
    assert swept(run) == ["bb"]
    assert Position.decode(value(ssm, f"{STATE}/next-start")).start == "cc"
    assert value(ssm, f"{LEGACY}/next-start") == recorded

    # And once its own parameter exists, a reset of the old one changes nothing
    deploy_resets(ssm)
    after = invoke(env=env, context=OneRepository())
    assert swept(after) == ["cc"]
