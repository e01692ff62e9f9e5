"""Template assertions: what `cdk deploy` would create, with defaults and with context overrides."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from hypothesis import given
from hypothesis import strategies as st

from ecr_sweeper.core import permissions
from infra.app import FEATURE_FLAGS, ROOT
from infra.config import DEFAULTS, ContextError
from infra.role import (
    ECR_ACTIONS,
    IN_USE_CACHE_ACTIONS,
    IN_USE_SCOPED_ACTIONS,
    IN_USE_UNSCOPED_ACTIONS,
    SSM_ACTIONS,
    access_entry_id,
)
from tests.infrastructure.conftest import CDK_JSON, PRIVATE_ENCRYPTED_BUCKET, synth


def function_properties(template: Template) -> dict[str, Any]:
    [function] = template.find_resources("AWS::Lambda::Function").values()
    return function["Properties"]  # type: ignore[no-any-return]


def test_function_runtime_architecture_handler_and_timeout(template: Template) -> None:
    # Given the default template
    # Then its function runs python3.14 on arm64, with the handler, 15 minutes and 1769 MB
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "ecr_sweeper.handler.lambda_handler",
            "Timeout": 900,
            "MemorySize": 1769,
        },
    )
    # And no concurrency is reserved for it
    # Lambda keeps 100 units of the account's concurrency unreserved: a reservation fails the first
    # deploy in a new or low-limit account (Lambda developer guide, "Configuring reserved
    # concurrency"). Off by default; an overlapping sweep is safe (tests/integration/test_overlap.py).
    assert "ReservedConcurrentExecutions" not in function_properties(template)
    # And it is the only function, and an invocation that fails is not retried
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0, "Qualifier": "$LATEST"}
    )


def test_function_environment(template: Template) -> None:
    # Given the default template's function environment
    variables = function_properties(template)["Environment"]["Variables"]

    # Then it names the state parameters, where earlier versions kept them, and the in-use cache bucket
    # The function's state: parameters it creates under the stack's state path, not resources of the
    # stack; and where earlier versions kept it, read while those do not exist (test_upgrade.py).
    assert variables.pop("CURSOR_PARAMETER") == "/ecr-sweeper/EcrSweeper/state/next-start"
    assert variables.pop("FIRST_RUN_PARAMETER") == "/ecr-sweeper/EcrSweeper/state/first-run"
    assert variables.pop("LEGACY_CURSOR_PARAMETER")["Ref"].startswith("NextStart")
    assert variables.pop("LEGACY_FIRST_RUN_PARAMETER")["Ref"].startswith("FirstRun")
    assert variables.pop("IN_USE_CACHE_BUCKET")["Ref"].startswith("InUseCacheBucket")
    # And every other variable has its default
    assert variables == {
        "PREVIEW_DAYS": "7",
        "EKS_CLUSTERS_IGNORED": "",
        "INSPECTOR_IN_USE": "auto",
        "RETENTION_TAG_KEY": "ecr-sweeper:retention-days",
        "DEFAULT_RETENTION_DAYS": "7",
        "DRY_RUN": "false",
        "PROTECT_IN_USE": "true",
        "MAX_WORKERS": "16",
        "REGIONS": "",
        "POWERTOOLS_SERVICE_NAME": "ecr-sweeper",
        "POWERTOOLS_METRICS_NAMESPACE": "EcrSweeper",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "CONSUMER_ACCOUNTS": "",
        "CONSUMER_ROLE_NAME": "ecr-sweeper-reader",
        "CONSUMER_ACCOUNTS_IGNORED": "",
    }


def test_nightly_schedule_targets_the_function(template: Template) -> None:
    # Given the default template
    # Then a rule starts the function at 03:00 UTC every night
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "State": "ENABLED",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("^Function"), "Arn"]}})],
        },
    )
    # And EventBridge may invoke the function
    template.has_resource_properties(
        "AWS::Lambda::Permission", {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}
    )


def test_explicit_log_group_with_retention(template: Template) -> None:
    # Given the default template
    # Then the function logs to its own log group, kept 30 days
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    assert function_properties(template)["LoggingConfig"]["LogGroup"]["Ref"].startswith("FunctionLogs")


def statements(template: Template) -> list[dict[str, Any]]:
    [policy] = template.find_resources("AWS::IAM::Policy").values()
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def actions_on(template: Template, resource: Any) -> list[str]:
    return sorted(a for s in statements(template) if s["Resource"] == resource for a in _list(s["Action"]))


def scoped(service: str, resource: str, account: str | None = None) -> dict[str, Any]:
    separator = ":" if service == "lambda" else "/"
    if account is not None:
        return {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, f":{service}:", {"Ref": "AWS::Region"},
                 f":{account}:{resource}{separator}*"],
            ]
        }  # fmt: skip
    return {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":{service}:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
             f":{resource}{separator}*"],
        ]
    }  # fmt: skip


def test_iam_allows_only_the_actions_the_code_calls_each_on_its_narrowest_resource(template: Template) -> None:
    # Given the default template's role
    # Then it may call the ECR actions the sweep calls, on repositories of this account and region only
    assert actions_on(template, scoped("ecr", "repository")) == sorted(
        ["ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:DescribeImages", "ecr:BatchGetImage",
         "ecr:BatchDeleteImage"]
    )  # fmt: skip
    # And each read of the in-use scan on its narrowest resource type
    # Each read of the in-use scan on the resource type the Service Authorization Reference gives it
    # (https://docs.aws.amazon.com/service-authorization/latest/reference/ "Actions, resources, and
    # condition keys" for Lambda, ECS, App Runner and SageMaker).
    assert actions_on(template, scoped("lambda", "function")) == ["lambda:GetFunction"]
    assert actions_on(template, scoped("ecs", "task")) == ["ecs:DescribeTasks"]
    assert actions_on(template, scoped("ecs", "service")) == ["ecs:DescribeServices"]
    # ECS developer guide, "Permissions required for viewing Amazon ECS service deployments": on the
    # service and on its revisions (the SAR marks both resource types required).
    assert actions_on(template, [scoped("ecs", "service"), scoped("ecs", "service-revision")]) == [
        "ecs:DescribeServiceRevisions"
    ]
    assert actions_on(template, scoped("apprunner", "service")) == ["apprunner:DescribeService"]
    assert actions_on(template, scoped("sagemaker", "model")) == ["sagemaker:DescribeModel"]
    # A model may name a model package of another account (a shared model registry, AWS Marketplace).
    assert actions_on(template, scoped("sagemaker", "model-package", account="*")) == ["sagemaker:DescribeModelPackage"]
    assert actions_on(template, scoped("eks", "cluster")) == ["eks:DescribeCluster"]
    # And nothing in EC2 or in creating EKS resources
    # Nothing in Kubernetes beyond the view policy, and nothing in EC2 without a VPC.
    assert not [a for s in statements(template) for a in _list(s["Action"]) if a.startswith(("ec2:", "eks:Create"))]
    # And "*" only for the calls without resource-level permissions, in the stack's region only
    # Only list and describe calls that support no resource-level permissions get "*" (the same
    # reference lists no resource type for them), and only in the swept regions.
    assert actions_on(template, "*") == sorted(
        ["lambda:ListFunctions", "ecs:ListClusters", "ecs:ListServices", "ecs:ListTasks", "ecs:ListTaskDefinitions",
         "ecs:DescribeTaskDefinition", "batch:DescribeJobDefinitions", "apprunner:ListServices",
         "sagemaker:ListModels", "eks:ListClusters", "inspector2:ListCoverage"]
    )  # fmt: skip
    [unscoped] = [st for st in statements(template) if st["Resource"] == "*"]
    assert unscoped["Condition"] == {"StringEquals": {"aws:RequestedRegion": [{"Ref": "AWS::Region"}]}}
    # And writes to its own log group only
    logs = [s for s in statements(template) if any(a.startswith("logs:") for a in _list(s["Action"]))]
    assert sorted(a for s in logs for a in _list(s["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert all(s["Resource"]["Fn::GetAtt"][0].startswith("FunctionLogs") for s in logs)
    # And sends to the dead-letter queue
    # The on-failure destination: Lambda sends a run that failed or never started to the queue with
    # the function's own role (Lambda developer guide, "Asynchronous invocation", destinations).
    [sqs] = [s for s in statements(template) if any(a.startswith("sqs:") for a in _list(s["Action"]))]
    assert sorted(_list(sqs["Action"])) == ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]
    assert sqs["Resource"]["Fn::GetAtt"][0].startswith("ObservabilityScheduleDeadLetters")
    # And reads and writes its state parameters
    ssm = [s for s in statements(template) if any(a.startswith("ssm:") for a in _list(s["Action"]))]
    # Read and write the state the function creates under its path; only read the stack's own
    # parameters, where earlier versions kept it.
    assert [sorted(_list(s["Action"])) for s in ssm] == [["ssm:GetParameter", "ssm:PutParameter"], ["ssm:GetParameter"]]
    assert json.dumps(ssm[0]["Resource"]).endswith(':parameter/ecr-sweeper/EcrSweeper/state/*"]]}')
    legacy = sorted(re.sub(r"[0-9A-F]{8}$", "", r["Fn::Join"][1][-1]["Ref"]) for r in ssm[1]["Resource"])
    assert legacy == ["FirstRun", "NextStart"]
    assert all(s["Effect"] == "Allow" for s in statements(template))
    # And reads and writes the in-use cache's objects, and lists its bucket
    # The in-use cache: its objects (one per account and region) under its prefix, and the bucket's
    # listing, so that a cache not written yet reads as missing and not as denied.
    cache = [s for s in statements(template) if any(a.startswith("s3:") for a in _list(s["Action"]))]
    assert [sorted(_list(s["Action"])) for s in cache] == [["s3:GetObject", "s3:PutObject"], ["s3:ListBucket"]]
    assert cache[0]["Resource"]["Fn::Join"][1][1] == "/in-use-cache/*"
    assert cache[0]["Resource"]["Fn::Join"][1][0]["Fn::GetAtt"][0].startswith("InUseCacheBucket")
    assert cache[1]["Resource"]["Fn::GetAtt"][0].startswith("InUseCacheBucket")
    # And no other statement
    # ECR, logs, the dead-letter queue, the state (two), the unscoped in-use reads, one statement per
    # scoped in-use read, and the two of the in-use cache.
    assert len(statements(template)) == 8 + len(IN_USE_SCOPED_ACTIONS)


def test_the_rotation_cursor_parameter_starts_at_the_beginning(template: Template) -> None:
    # Given the default template
    # Then the legacy cursor parameter exists and starts at the beginning ("-")
    template.has_resource_properties(
        "AWS::SSM::Parameter", {"Type": "String", "Value": "-", "Name": "/ecr-sweeper/EcrSweeper/next-start"}
    )


def test_the_role_is_registered_as_a_pull_time_update_exclusion(template: Template) -> None:
    # Given the default template
    # Then the function's role is registered as a pull-time update exclusion
    template.has_resource_properties(
        "AWS::ECR::PullTimeUpdateExclusion",
        {"PrincipalArn": {"Fn::GetAtt": [Match.string_like_regexp("^FunctionRole"), "Arn"]}},
    )
    # And the function is created after the exclusion
    [function] = template.find_resources("AWS::Lambda::Function").values()
    assert any(d.startswith("PullTimeUpdateExclusion") for d in function["DependsOn"])


def test_protect_in_use_off_drops_every_in_use_permission() -> None:
    # Given the template with protectInUse false
    _, template = synth({"protectInUse": False}, bundle=False)

    # When its role's actions are collected
    granted = [a for s in statements(template) for a in _list(s["Action"])]

    # Then none is of a service the in-use scan reads, nor of S3
    assert not [a for a in granted if a.startswith(("lambda:", "ecs:", "batch:", "apprunner:", "sagemaker:", "s3:"))]
    # And the function is told not to protect what is in use
    assert function_properties(template)["Environment"]["Variables"]["PROTECT_IN_USE"] == "false"
    # and with the scan goes its cache
    assert "IN_USE_CACHE_BUCKET" not in function_properties(template)["Environment"]["Variables"]
    template.resource_count_is("AWS::S3::Bucket", 0)


def test_the_in_use_cache_bucket_is_private_encrypted_and_ssl_only(template: Template) -> None:
    # Given the default template's one bucket
    [(logical, bucket)] = template.find_resources("AWS::S3::Bucket").items()

    # Then it is the in-use cache's, private and encrypted
    assert logical.startswith("InUseCacheBucket")
    assert bucket["Properties"] == PRIVATE_ENCRYPTED_BUCKET
    # And its policy denies any request without TLS
    [policy] = template.find_resources("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": logical}
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", {"AWS": "*"}, "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_in_use_cache_grant_is_what_its_adapter_calls() -> None:
    # Given the source of the in-use cache's adapter
    source = (ROOT / "lambda/ecr_sweeper/aws/in_use/cache.py").read_text()

    # When the S3 calls it makes are read from it
    called = {"s3:" + "".join(w.title() for w in op.split("_")) for op in re.findall(r"self\._s3\.(\w+)\(", source)}

    # Then they are exactly the actions the cache is granted: GetObject and PutObject
    assert called == set(IN_USE_CACHE_ACTIONS) == {"s3:GetObject", "s3:PutObject"}


def test_the_stepfunctions_engine_keeps_the_in_use_cache_in_its_work_bucket() -> None:
    # Given the Step Functions engine's template
    _, template = synth({"engine": "stepfunctions"}, bundle=False)

    # Then its one bucket is the work bucket, and both functions keep the in-use cache in it
    [work] = template.find_resources("AWS::S3::Bucket")
    assert work.startswith("EngineWorkBucket")
    functions = template.find_resources("AWS::Lambda::Function").values()
    for function in functions:
        assert function["Properties"]["Environment"]["Variables"]["IN_USE_CACHE_BUCKET"] == {"Ref": work}
    # And their role may get and put the cache's objects there, and list the bucket
    [role] = {function["Properties"]["Role"]["Fn::GetAtt"][0] for function in functions}
    granted = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "/in-use-cache/*" in json.dumps(statement["Resource"]) or statement["Action"] == "s3:ListBucket"
    ]
    assert [(_list(s["Action"]), s["Resource"]) for s in granted] == [
        (["s3:GetObject", "s3:PutObject"], {"Fn::Join": ["", [{"Fn::GetAtt": [work, "Arn"]}, "/in-use-cache/*"]]}),
        (["s3:ListBucket"], {"Fn::GetAtt": [work, "Arn"]}),
    ]


def test_no_managed_policies(template: Template) -> None:
    # Given the roles of the default template
    # Then none has a managed policy
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_the_inventory_of_actions_is_what_the_adapters_call() -> None:
    """ecr_sweeper.permissions lists exactly the operations the adapters' code calls; the role is
    granted from it (test_authorization.py), and every integration test checks that the calls it
    records are in it (tests/integration/conftest.py)."""

    # Given a reader of the method calls a module makes on a client
    def called(source: str, receiver: str) -> set[str]:
        operations = set(re.findall(rf"{receiver}\.(\w+)\(", source)) - {"get_paginator"}
        operations |= set(re.findall(r'get_paginator\("(\w+)"\)', source))
        return {"".join(word.title() for word in op.split("_")) for op in operations}

    def source(module: str) -> str:
        return (ROOT / f"lambda/ecr_sweeper/{module}.py").read_text()

    # When the calls of the ECR adapter, the in-use sources, the state and the cache are read
    import importlib

    ecr = {"ecr:" + op for op in called(source("aws/registry"), "self._ecr")}

    # Then the ECR calls are the inventory's, with the command line's own calls never granted to the function
    assert ecr == {*permissions.ECR, *permissions.COMMAND_LINE_ONLY}
    assert not set(permissions.COMMAND_LINE_ONLY) & set(ECR_ACTIONS), "the function never calls these"
    # Each source's module calls exactly the in-use scan's actions of its service.
    from ecr_sweeper.aws.in_use.scan import SOURCES

    scanned = set()
    for service, reader in SOURCES:
        body = inspect.getsource(importlib.import_module(reader.__module__))
        operations = set(re.findall(r'source\.(?:call|pages)\(\s*"(\w+)"', body))
        scanned |= {f"{service}:" + "".join(w.title() for w in op.split("_")) for op in operations}
    # And the sources call exactly the in-use scan's actions, as the role grants them
    assert scanned == set(permissions.IN_USE_SCAN) == set(IN_USE_UNSCOPED_ACTIONS) | set(IN_USE_SCOPED_ACTIONS)
    # And the state and the cache call exactly their inventory's actions
    state = source("aws/state")
    assert {"ssm:" + op for op in called(state, "self._ssm")} == set(permissions.STATE) == set(SSM_ACTIONS)
    assert {"s3:" + op for op in called(state, "self._s3")} == set(permissions.WORK_BUCKET)
    assert {"s3:" + op for op in called(source("aws/in_use/cache"), "self._s3")} == set(permissions.IN_USE_CACHE)
    # And so do the calls that list the organization's accounts and assume each reader role
    # Central registries: the organization's accounts are listed, and each reader role assumed.
    assert re.findall(r'organizations\.pages\("(\w+)"', source("aws/in_use/consumers")) == ["list_accounts"]
    assert permissions.ORGANIZATION == ("organizations:ListAccounts",)
    assert re.findall(r'\("sts"\)\.(\w+)\(', source("aws/clients")) == ["assume_role"]
    assert permissions.CONSUMERS == ("sts:AssumeRole",)


def test_errors_alarm(template: Template) -> None:
    # Given the default template
    # Then an alarm fires on the first error of the function in a period, and treats missing data as fine
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Statistic": "Sum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": Match.string_like_regexp("^Function")}}],
        },
    )


def test_context_overrides() -> None:
    # Given the template with every overridable setting changed
    _, template = synth(
        {
            "schedule": "cron(30 1 ? * MON-FRI *)",
            "defaultRetentionDays": "off",
            "retentionTagKey": "team/retention",
            "dryRun": "true",
            "logRetentionDays": "90",
            "logLevel": "debug",
            "reserveConcurrency": True,
            "maxWorkers": "4",
            "previewDays": "0",
        },
        bundle=False,
    )

    # Then the schedule and the log retention are the ones given
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(30 1 ? * MON-FRI *)"})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})
    # And one concurrency is reserved
    properties = function_properties(template)
    assert properties["ReservedConcurrentExecutions"] == 1
    # And the function's environment has the values given
    assert properties["Environment"]["Variables"] | {} == {
        "RETENTION_TAG_KEY": "team/retention",
        "DEFAULT_RETENTION_DAYS": "off",
        "DRY_RUN": "true",
        "PROTECT_IN_USE": "true",
        "MAX_WORKERS": "4",
        "REGIONS": "",
        "CURSOR_PARAMETER": "/ecr-sweeper/EcrSweeper/state/next-start",
        "FIRST_RUN_PARAMETER": "/ecr-sweeper/EcrSweeper/state/first-run",
        "LEGACY_CURSOR_PARAMETER": properties["Environment"]["Variables"]["LEGACY_CURSOR_PARAMETER"],
        "LEGACY_FIRST_RUN_PARAMETER": properties["Environment"]["Variables"]["LEGACY_FIRST_RUN_PARAMETER"],
        "IN_USE_CACHE_BUCKET": properties["Environment"]["Variables"]["IN_USE_CACHE_BUCKET"],
        "PREVIEW_DAYS": "0",
        "EKS_CLUSTERS_IGNORED": "",
        "INSPECTOR_IN_USE": "auto",
        "POWERTOOLS_SERVICE_NAME": "ecr-sweeper",
        "POWERTOOLS_METRICS_NAMESPACE": "EcrSweeper",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "CONSUMER_ACCOUNTS": "",
        "CONSUMER_ROLE_NAME": "ecr-sweeper-reader",
        "CONSUMER_ACCOUNTS_IGNORED": "",
    }


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"schedule": "every night"}, "schedule='every night'"),
        ({"schedule": "cron(0 3 * * *)"}, "schedule='cron(0 3 * * *)'"),
        ({"defaultRetentionDays": "7 days"}, "context defaultRetentionDays='7 days' is invalid"),
        ({"dryRun": "maybe"}, "dryRun='maybe'"),
        ({"logRetentionDays": 31}, "logRetentionDays=31"),
        ({"logRetentionDays": "a month"}, "logRetentionDays='a month'"),
        ({"retentionTagKey": "bad*key"}, "context retentionTagKey='bad*key' is invalid"),
        ({"logLevel": "chatty"}, "context logLevel='chatty' is invalid"),
        ({"reserveConcurrency": "no"}, "reserveConcurrency='no'"),
        ({"protectInUse": "yes"}, "protectInUse='yes'"),
        ({"maxWorkers": 0}, "context maxWorkers=0 is invalid: expected a whole number from 1 to 64"),
        ({"maxWorkers": "lots"}, "maxWorkers='lots'"),
        ({"regions": ["Mars"]}, "'Mars' is not a region name"),
        ({"regions": 5}, "regions=5"),
        ({"previewDays": "a week"}, "previewDays='a week'"),
        ({"previewDays": 400}, "context previewDays=400 is invalid: expected a whole number of days from 0 to 365"),
        ({"deleteOnDestroy": "sure"}, "deleteOnDestroy='sure'"),
        # The state machine sweeps the stack's region only, while IAM would cover every listed region.
        ({"engine": "stepfunctions", "regions": ["eu-west-1"]}, "not supported with engine=stepfunctions yet"),
        # The schedule starts the state machine, not the function: a reservation there would only
        # take concurrency from the account.
        ({"engine": "stepfunctions", "reserveConcurrency": True}, "applies to engine=lambda only"),
    ],
)
def test_invalid_context_stops_synth(context: dict[str, Any], message: str) -> None:
    # Given an invalid context
    # When the app is synthesized
    with pytest.raises(ContextError) as caught:
        synth(context, bundle=False)

    # Then it stops, and the message names the key and what is wrong
    assert message in str(caught.value)


def test_cdk_json_carries_the_documented_defaults() -> None:
    # Given cdk.json
    # Then its context is the documented defaults and feature flags
    assert {key: value for key, value in CDK_JSON["context"].items() if not key.startswith("@")} == DEFAULTS
    assert {key: value for key, value in CDK_JSON["context"].items() if key.startswith("@")} == FEATURE_FLAGS
    # And its app runs app.py with the project's Python
    assert CDK_JSON["app"] == ".venv/bin/python app.py"


def test_cdk_nag_would_fail_synth_on_an_unacknowledged_finding() -> None:
    # Guards the guard: the plugin is wired so that a finding stops synth.
    # Given a stack with a role that may do every ECR action on any resource
    app = App()
    stack = Stack(app, "Probe")
    iam.Role(stack, "Wide", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")).add_to_policy(
        iam.PolicyStatement(actions=["ecr:*"], resources=["*"])
    )

    # When it is synthesized with the AwsSolutions plugin of cdk-nag
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    # Then synth fails on AwsSolutions-IAM5
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions-IAM5"):
        app.synth()


def test_the_stack_passes_cdk_nag(default_stack: Any) -> None:
    # default_stack was synthesized with the AwsSolutions plugin; synth raises on any finding.
    # Given the default stack
    # Then its synth raised nothing, and it is EcrSweeper
    stack, _ = default_stack
    assert stack.stack_name == "EcrSweeper"


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_regions_scope_every_permission_to_exactly_those_regions() -> None:
    # Given the template with two regions
    _, template = synth({"regions": ["eu-west-1", "us-east-1"]}, bundle=False)

    # Then the function sweeps both
    assert function_properties(template)["Environment"]["Variables"]["REGIONS"] == "eu-west-1,us-east-1"
    # And each scoped permission names each region
    rendered = json.dumps(statements(template))
    for service, resource in (("ecr", ":repository/*"), ("lambda", ":function:*"), ("ecs", ":task/*")):
        for region in ("eu-west-1", "us-east-1"):
            assert f'":{service}:{region}:"' in rendered, (service, region)
        assert resource in rendered
    # And the calls without resource-level permissions are allowed in those regions only
    [listing] = [s for s in statements(template) if s["Resource"] == "*"]
    assert listing["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}
    # And there is a cursor parameter per region, besides the stack's own
    names = [p["Properties"].get("Name") for p in template.find_resources("AWS::SSM::Parameter").values()]
    assert sorted(names) == [
        "/ecr-sweeper/EcrSweeper/first-run",
        "/ecr-sweeper/EcrSweeper/next-start",
        "/ecr-sweeper/EcrSweeper/next-start/eu-west-1",
        "/ecr-sweeper/EcrSweeper/next-start/us-east-1",
    ]


def test_without_regions_the_list_calls_are_scoped_to_the_stacks_region(template: Template) -> None:
    # Given the default template, without regions
    # Then the calls without resource-level permissions are allowed in the stack's region only
    [listing] = [s for s in statements(template) if s["Resource"] == "*"]
    assert listing["Condition"] == {"StringEquals": {"aws:RequestedRegion": [{"Ref": "AWS::Region"}]}}


def test_the_first_week_is_a_preview_recorded_in_a_parameter_the_function_may_read_and_write(
    template: Template,
) -> None:
    # Given the default template's function environment
    variables = function_properties(template)["Environment"]["Variables"]

    # Then the first 7 days are a preview
    assert variables["PREVIEW_DAYS"] == "7"
    # recorded by the function in a parameter of its own, which the role may read and write
    # And the first run is recorded in a parameter under the state path, which the role may read and write
    assert variables["FIRST_RUN_PARAMETER"] == "/ecr-sweeper/EcrSweeper/state/first-run"
    [state] = [s for s in statements(template) if "ssm:PutParameter" in _list(s["Action"])]
    assert json.dumps(state["Resource"]).endswith(':parameter/ecr-sweeper/EcrSweeper/state/*"]]}')
    # and read, once, from where earlier versions recorded it
    # And the legacy first-run parameter exists, with no first run recorded ("-")
    assert variables["LEGACY_FIRST_RUN_PARAMETER"]["Ref"].startswith("FirstRun")
    template.has_resource_properties(
        "AWS::SSM::Parameter", {"Type": "String", "Value": "-", "Name": "/ecr-sweeper/EcrSweeper/first-run"}
    )


def test_outputs_name_what_an_operator_looks_up() -> None:
    # Given the default template and the Step Functions engine's template
    for context, expected in (
        ({}, {"FunctionName", "RoleArn", "LogGroupName", "DashboardUrl", "AlarmTopicArn"}),
        ({"engine": "stepfunctions"}, {"FunctionName", "RoleArn", "LogGroupName", "DashboardUrl", "AlarmTopicArn",
                                       "StateMachineArn"}),
    ):  # fmt: skip
        # When each is synthesized, then its outputs are exactly what an operator looks up
        _, template = synth(context, bundle=False)
        assert set(template.find_outputs("*")) == expected


@pytest.mark.parametrize("engine", ["lambda", "stepfunctions"])
@pytest.mark.parametrize("delete", [True, False])
def test_a_bucket_deleted_with_the_stack_is_emptied_first(engine: str, delete: bool) -> None:
    # Given the template of the engine, with or without deleteOnDestroy
    # CloudFormation deletes only an empty bucket (DELETE_FAILED otherwise), and the in-use cache (its
    # own bucket, or the work bucket) is rewritten nightly.
    _, template = synth({"engine": engine, "deleteOnDestroy": delete}, bundle=False)

    # When the custom resources that empty its bucket are found
    [bucket] = template.find_resources("AWS::S3::Bucket")
    emptied = [
        r for r in template.find_resources("Custom::S3AutoDeleteObjects").values()
        if r["Properties"]["BucketName"] == {"Ref": bucket}
    ]  # fmt: skip

    # Then there is one when the bucket is deleted with the stack, and none when it is kept
    assert len(emptied) == (1 if delete else 0)


@pytest.mark.parametrize(("delete", "policy"), [(False, "Retain"), (True, "Delete")])
def test_what_destroy_leaves_behind_is_a_choice(delete: bool, policy: str) -> None:
    # Given the Step Functions engine's template, with or without deleteOnDestroy
    _, template = synth({"engine": "stepfunctions", "deleteOnDestroy": delete}, bundle=False)

    # When the deletion policies of its log groups, key and bucket are read
    kept = {
        resource_type: [r.get("DeletionPolicy") for r in template.find_resources(resource_type).values()]
        for resource_type in ("AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::S3::Bucket")
    }

    # Then they are all Retain, or all Delete
    assert kept == {"AWS::Logs::LogGroup": [policy, policy], "AWS::KMS::Key": [policy], "AWS::S3::Bucket": [policy]}
    # And the Lambda engine's cache bucket follows the same choice
    # With the lambda engine, the in-use cache's own bucket follows the same choice
    _, template = synth({"deleteOnDestroy": delete}, bundle=False)
    assert [r.get("DeletionPolicy") for r in template.find_resources("AWS::S3::Bucket").values()] == [policy]


def test_make_destroy_needs_no_terminal() -> None:
    # Given the Makefile
    # When make destroy is dry-run
    result = subprocess.run(["make", "-n", "destroy"], cwd=ROOT, capture_output=True, text=True, check=True)

    # Then it runs cdk destroy with --force, asking nothing
    assert "destroy --force" in result.stdout


def test_named_clusters_get_an_access_entry_with_the_view_policy_at_cluster_scope() -> None:
    # Given the template with two EKS clusters and one ignored
    _, template = synth({"eksClusters": ["prod", "staging"], "eksClustersIgnored": "legacy"}, bundle=False)

    # When its access entries are read
    entries = template.find_resources("AWS::EKS::AccessEntry")

    # Then each named cluster has one
    assert sorted(e["Properties"]["ClusterName"] for e in entries.values()) == ["prod", "staging"]
    # And each grants the function's role the view policy at cluster scope
    for entry in entries.values():
        assert entry["Properties"]["PrincipalArn"]["Fn::GetAtt"][0].startswith("FunctionRole")
        [policy] = entry["Properties"]["AccessPolicies"]
        # EKS user guide, "Access policy permissions": AmazonEKSViewPolicy reads workloads, not secrets.
        assert policy["AccessScope"] == {"Type": "cluster"}
        assert policy["PolicyArn"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":eks::aws:cluster-access-policy/AmazonEKSViewPolicy"]]
        }
    # And the function is told which cluster to ignore
    assert function_properties(template)["Environment"]["Variables"]["EKS_CLUSTERS_IGNORED"] == "legacy"


def test_cluster_names_that_fold_to_the_same_letters_get_distinct_access_entries_and_others_keep_theirs() -> None:
    # Given four cluster names, three of which fold to the same letters and digits
    # CDK keeps only the letters and digits of a top-level id: "prod-1" and "prod1" used to collide.
    _, template = synth({"eksClusters": ["prod-1", "prod1", "prod_1", "staging-2"]}, bundle=False)

    # When their access entries are read
    entries = template.find_resources("AWS::EKS::AccessEntry")
    by_cluster = {e["Properties"]["ClusterName"]: logical for logical, e in entries.items()}

    # Then each cluster has one
    assert sorted(by_cluster) == ["prod-1", "prod1", "prod_1", "staging-2"]
    # And a name alone in its folding keeps its logical id, and all four ids are distinct
    # A name alone in its folding, or of letters and digits only, keeps the logical id a deployed
    # stack already has (a new id would replace the entry, which EKS refuses while the old exists).
    assert by_cluster["prod1"] == "EksAccessprod1" and by_cluster["staging-2"] == "EksAccessstaging2"
    assert by_cluster["prod-1"].startswith("EksAccessprod1") and by_cluster["prod-1"] != "EksAccessprod1"
    assert len(set(by_cluster.values())) == 4


@given(st.lists(st.from_regex(r"[0-9A-Za-z][A-Za-z0-9\-_]{0,6}", fullmatch=True), unique=True, max_size=8))
def test_every_set_of_valid_cluster_names_gets_distinct_logical_ids(clusters: list[str]) -> None:
    # Given any set of distinct valid cluster names
    # CDK's logical id of a top-level construct: its id's letters and digits only.
    # When CDK's logical ids of their access entries are made
    logical = ["".join(c for c in access_entry_id(name, clusters) if c.isalnum()) for name in clusters]

    # Then they are distinct
    assert len(set(logical)) == len(clusters)


def test_a_cluster_named_with_its_region_is_refused_with_how_to_grant_access_there() -> None:
    # Given two regions, and a cluster named with a region
    # When the app is synthesized
    with pytest.raises(ContextError) as refused:
        synth({"regions": ["eu-west-1", "us-east-1"], "eksClusters": ["us-east-1/prod"]}, bundle=False)

    # Then it stops, naming the entry and giving the command that grants access in that region
    message = str(refused.value)
    assert "eksClusters entry 'us-east-1/prod'" in message
    assert "aws eks create-access-entry --region us-east-1 --cluster-name prod" in message
    assert "AmazonEKSViewPolicy" in message and "write 'prod'" in message


def test_vpc_subnets_and_security_groups_put_the_function_in_the_clusters_vpc() -> None:
    # Given subnets and a security group
    subnets, groups = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"], ["sg-0123456789abcdef0"]

    # When the template is synthesized with them
    _, template = synth({"vpcSubnetIds": subnets, "vpcSecurityGroupIds": groups}, bundle=False)

    # Then the function runs in them
    assert function_properties(template)["VpcConfig"] == {"SubnetIds": subnets, "SecurityGroupIds": groups}
    # And its role may manage the network interfaces it needs there
    # Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC": the
    # execution role needs these EC2 actions for the function's network interfaces.
    assert set(actions_on(template, "*")) >= {
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    }  # fmt: skip
    # And both functions of the Step Functions engine run in them too
    _, engine = synth({"engine": "stepfunctions", "vpcSubnetIds": subnets, "vpcSecurityGroupIds": groups}, bundle=False)
    configs = [f["Properties"].get("VpcConfig") for f in engine.find_resources("AWS::Lambda::Function").values()]
    assert configs == [{"SubnetIds": subnets, "SecurityGroupIds": groups}] * 2


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"vpcSubnetIds": ["subnet-0123456789abcdef0"]}, "vpcSubnetIds and vpcSecurityGroupIds go together"),
        ({"vpcSubnetIds": ["subnet-x"], "vpcSecurityGroupIds": ["sg-0123456789abcdef0"]}, "'subnet-x' is not a subnet"),
        ({"eksClusters": ["no spaces"]}, "eksClusters=['no spaces'] is invalid: 'no spaces' is not an EKS cluster"),
        ({"inspectorInUse": "sometimes"}, "context inspectorInUse='sometimes' is invalid"),
    ],
)
def test_invalid_eks_vpc_and_inspector_context_stops_synth(context: dict[str, Any], message: str) -> None:
    # Given an invalid EKS, VPC or Inspector context
    # When the app is synthesized, then it stops, naming what is wrong
    with pytest.raises(ContextError, match=re.escape(message)):
        synth(context, bundle=False)
