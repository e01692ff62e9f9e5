"""The Step Functions engine deploys into the corrected emulator too, and is destroyed again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.app import STACK_NAME
from tests.e2e.deploy import local_deploy

# `make test` runs with --dist loadfile: one worker runs this file, in order, and its last test
# destroys what the others read.


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_deploy(tmp_path_factory.mktemp("cdk-sfn") / "cdk.out", "engine=stepfunctions") as deployment:
        yield deployment


def test_the_schedule_starts_the_deployed_state_machine(deployed: dict[str, Any]) -> None:
    # Given the Step Functions engine deployed by the real CDK CLI into the emulator
    client = deployed["client"]

    # When its stack is described, then it is CREATE_COMPLETE
    [stack] = client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # And the nightly rule's one target is the state machine
    [machine] = client("stepfunctions").list_state_machines()["stateMachines"]
    rules = client("events").list_rules()["Rules"]
    [rule] = [r for r in rules if r.get("ScheduleExpression") == "cron(0 3 * * ? *)"]
    [target] = client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == machine["stateMachineArn"]
    # And the steps function is deployed
    handlers = {f["Handler"] for f in client("lambda").list_functions()["Functions"]}
    assert "ecr_sweeper.stepfunctions.handler" in handlers


def test_destroy_removes_the_stack(deployed: dict[str, Any]) -> None:
    # Given the deployed stack
    # When cdk destroy runs
    deployed["cdk"]("destroy", "--force", "--output", str(deployed["out"]))

    # Then the stack is DELETE_COMPLETE
    stacks = deployed["client"]("cloudformation").list_stacks()["StackSummaries"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == STACK_NAME)
