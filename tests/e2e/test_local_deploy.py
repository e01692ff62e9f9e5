"""The real CDK CLI deploys the stack into the corrected emulator served on localhost, then destroys it.

What moto's CloudFormation cannot create (alarms, Logs Insights query definitions, the pull-time
update exclusion, ...) it skips while reporting success; those are read back from the deployed
template instead. First seen with CDK CLI 2.1148.1, aws-cdk-lib 2.275.0 and moto 5.2.5: an
AWS::CloudWatch::Alarm is not created, moto logs a warning and the deploy still succeeds (docs/develop/
emulator.md, "Deploying into the emulator").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra.app import STACK_NAME
from tests.e2e.deploy import ACCOUNT, REGION, local_deploy

# `make test` runs with --dist loadfile: one worker runs this file, in order, and its last test
# destroys what the others read.


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_deploy(tmp_path_factory.mktemp("cdk") / "cdk.out") as deployment:
        yield deployment


def _resource(deployed: dict[str, Any], logical_prefix: str) -> str:
    cloudformation = deployed["client"]("cloudformation")
    for resource in cloudformation.describe_stack_resources(StackName=STACK_NAME)["StackResources"]:
        if resource.get("LogicalResourceId", "").startswith(logical_prefix):
            return str(resource["PhysicalResourceId"])
    raise AssertionError(f"no {logical_prefix} resource in the deployed stack")


def test_the_stack_is_created(deployed: dict[str, Any]) -> None:
    # Given the stack deployed by the real CDK CLI into the emulator
    # When its stack is described
    [stack] = deployed["client"]("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]

    # Then it is CREATE_COMPLETE
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_the_deployed_function(deployed: dict[str, Any]) -> None:
    # Given the deployed stack's function
    # When its configuration is read
    config = deployed["client"]("lambda").get_function(FunctionName=_resource(deployed, "Function7"))["Configuration"]

    # Then it runs python3.14 with the handler, 15 minutes and 1769 MB
    assert config["Runtime"] == "python3.14"
    assert config["Handler"] == "ecr_sweeper.handler.lambda_handler"
    assert config["Timeout"] == 900 and config["MemorySize"] == 1769
    # And its environment has the default settings
    variables = config["Environment"]["Variables"]
    assert variables["RETENTION_TAG_KEY"] == "ecr-sweeper:retention-days"
    assert variables["DEFAULT_RETENTION_DAYS"] == "7" and variables["DRY_RUN"] == "false"
    # And it names its own state parameter, and the stack's legacy one
    # The function's own state parameter, which no deploy writes; the stack's, of versions before, only read.
    assert variables["CURSOR_PARAMETER"] == "/ecr-sweeper/EcrSweeper/state/next-start"
    assert variables["LEGACY_CURSOR_PARAMETER"] == "/ecr-sweeper/EcrSweeper/next-start"


def test_the_deployed_schedule_targets_the_function_with_retries_and_a_dead_letter_queue(
    deployed: dict[str, Any],
) -> None:
    # Given the deployed stack's schedule rule
    events = deployed["client"]("events")
    rule = _resource(deployed, "Schedule8")

    # Then it runs at 03:00 UTC every night
    assert events.describe_rule(Name=rule)["ScheduleExpression"] == "cron(0 3 * * ? *)"
    # And its one target is the function, with 8 retries within 2 hours and a dead-letter queue
    [target] = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert target["Arn"].endswith(_resource(deployed, "Function7"))
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 7200}
    assert "ScheduleDeadLetters" in target["DeadLetterConfig"]["Arn"]
    # And the function's policy lets EventBridge invoke it
    policy = json.loads(
        deployed["client"]("lambda").get_policy(FunctionName=_resource(deployed, "Function7"))["Policy"]
    )
    assert any(s["Principal"] == {"Service": "events.amazonaws.com"} for s in policy["Statement"])


def test_the_deployed_log_group_keeps_30_days(deployed: dict[str, Any]) -> None:
    # Given the deployed stack's log group
    name = _resource(deployed, "FunctionLogs")

    # When it is described
    [group] = deployed["client"]("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]

    # Then it keeps its logs 30 days
    assert group["retentionInDays"] == 30


def test_the_deployed_role_has_only_its_inline_policy(deployed: dict[str, Any]) -> None:
    # Given the deployed stack's function role
    iam = deployed["client"]("iam")
    role = _resource(deployed, "FunctionRole1")

    # Then no managed policy is attached to it
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    # And its one inline policy allows ECR actions on this account's repositories in this region only
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    statements = document["Statement"] if isinstance(document, dict) else json.loads(document)["Statement"]
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in s["Action"])]
    assert [s["Resource"] for s in ecr] == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"]


def test_the_alarm_is_in_the_deployed_template(deployed: dict[str, Any]) -> None:
    # Given the deployed stack
    # moto's CloudFormation does not create AWS::CloudWatch::Alarm; the deployed template has it.
    # When it is read back
    body = deployed["client"]("cloudformation").get_template(StackName=STACK_NAME)["TemplateBody"]
    template = body if isinstance(body, dict) else json.loads(body)
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]

    # Then it has the errors, delete failures and repository errors alarms
    assert {a["Properties"].get("MetricName") for a in alarms} >= {"Errors", "DeleteFailures", "RepositoryErrors"}


def test_destroy_removes_the_stack(deployed: dict[str, Any]) -> None:
    # Given the deployed stack
    # When cdk destroy runs
    deployed["cdk"]("destroy", "--force", "--output", str(deployed["out"]))

    # Then the stack is DELETE_COMPLETE
    cloudformation = deployed["client"]("cloudformation")
    stacks = cloudformation.list_stacks()["StackSummaries"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == STACK_NAME)
