"""Every integration test records the AWS calls the code makes, with who made them, and fails if one
is not in ecr_sweeper.permissions (the inventory the stack grants from): tests/integration/conftest.py.
These tests show that the recording sees each principal's calls, and that an unlisted call fails."""

from __future__ import annotations

import json
from typing import Any

import boto3

from ecr_sweeper.cli import main
from emulator.identity import OWN, OWN_ACCOUNT
from emulator.seed import create_repository
from tests.integration.conftest import Invoke, unlisted
from tests.integration.images import untagged
from tests.integration.test_consumers import CONSUMER, reader_role, task_definition

REGISTRY = f"{OWN_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"


def test_the_functions_calls_are_recorded_as_the_functions(
    ecr: Any, invoke: Invoke, calls_in_the_inventory: set[tuple[str, str]]
) -> None:
    # Given an expired digest that an ECS task definition of this account names, and one nothing names
    create_repository(ecr, "app", "1")
    used = untagged(ecr, "app", "used", days=30)
    untagged(ecr, "app", "unused", days=30)
    boto3.client("ecs", **OWN).register_task_definition(
        family="web", containerDefinitions=[{"name": "c", "image": f"{REGISTRY}/app@{used}", "memory": 128}]
    )

    # When the function sweeps
    run = invoke()

    # Then its calls are recorded as the function's, the in-use scan's and the deletion among them
    assert run.error is None
    assert {
        ("function", "ecs:DescribeTaskDefinition"),
        ("function", "ecr:DescribeImages"),
        ("function", "ecr:BatchDeleteImage"),
    } <= calls_in_the_inventory
    assert unlisted(calls_in_the_inventory) == []


def test_a_consumer_accounts_calls_are_recorded_as_its_reader_roles(
    ecr: Any, invoke: Invoke, calls_in_the_inventory: set[tuple[str, str]]
) -> None:
    # Given a consumer account with the reader role and a task definition that names a digest
    create_repository(ecr, "shared", "1")
    digest = untagged(ecr, "shared", "x", days=30)
    reader_role(CONSUMER)
    task_definition(CONSUMER, "web", f"{REGISTRY}/shared@{digest}")

    # When the function reads it as a consumer
    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMER})

    # Then the function assumed the role, and the reads there are the reader role's
    assert run.error is None
    assert ("function", "sts:AssumeRole") in calls_in_the_inventory
    assert ("reader role", "ecs:DescribeTaskDefinition") in calls_in_the_inventory
    assert ("reader role", "sts:AssumeRole") not in calls_in_the_inventory


def test_the_command_lines_own_calls_are_recorded_as_the_command_lines(
    ecr: Any, capsys: Any, calls_in_the_inventory: set[tuple[str, str]]
) -> None:
    # Given a repository
    create_repository(ecr, "app", "1")
    untagged(ecr, "app", "old", days=30)

    # When a person plans from the command line
    assert main(["plan", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"]

    # Then the command line asked whether it is a pull-time update exclusion, which the function never does
    assert ("command line", "ecr:ListPullTimeUpdateExclusions") in calls_in_the_inventory
    assert ("function", "ecr:ListPullTimeUpdateExclusions") not in calls_in_the_inventory


def test_a_call_the_inventory_does_not_list_for_its_caller_fails() -> None:
    # Given the inventory of the actions each caller may make
    # The function's role is not granted what only the command line calls, and a reader role only reads.
    # When the function calls what only the command line calls, then that call is reported
    assert unlisted({("function", "ecr:ListPullTimeUpdateExclusions")}) == [
        "function calls ecr:ListPullTimeUpdateExclusions"
    ]
    # And when a reader role deletes, that call is reported, while the function asking STS who it is is not
    assert unlisted({("reader role", "ecr:BatchDeleteImage"), ("function", "sts:GetCallerIdentity")}) == [
        "reader role calls ecr:BatchDeleteImage"
    ]
