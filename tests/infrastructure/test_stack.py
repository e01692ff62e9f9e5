"""Template assertions: what `cdk deploy` would create, with defaults and with context overrides."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from infra.app import ROOT
from infra.config import DEFAULTS, ContextError
from infra.stack import ECR_ACTIONS
from tests.infrastructure.conftest import CDK_JSON, synth


def function_properties(template: Template) -> dict[str, Any]:
    [function] = template.find_resources("AWS::Lambda::Function").values()
    return function["Properties"]  # type: ignore[no-any-return]


def test_function_runtime_architecture_handler_and_timeout(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "ecr_sweeper.handler.lambda_handler",
            "Timeout": 900,
            "ReservedConcurrentExecutions": 1,
        },
    )
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0, "Qualifier": "$LATEST"}
    )


def test_function_environment(template: Template) -> None:
    assert function_properties(template)["Environment"]["Variables"] == {
        "RETENTION_TAG_KEY": "ecr-sweeper:retention-days",
        "DEFAULT_RETENTION_DAYS": "7",
        "DRY_RUN": "false",
        "POWERTOOLS_SERVICE_NAME": "ecr-sweeper",
        "POWERTOOLS_METRICS_NAMESPACE": "EcrSweeper",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_nightly_schedule_targets_the_function(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "State": "ENABLED",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("^Function"), "Arn"]}})],
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission", {"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}
    )


def test_explicit_log_group_with_retention(template: Template) -> None:
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    assert function_properties(template)["LoggingConfig"]["LogGroup"]["Ref"].startswith("FunctionLogs")


def test_iam_allows_only_the_ecr_actions_the_code_calls_on_repositories(template: Template) -> None:
    [policy] = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in _list(s["Action"]))]
    assert len(ecr) == 1
    assert sorted(_list(ecr[0]["Action"])) == sorted(
        ["ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:DescribeImages", "ecr:BatchDeleteImage"]
    )
    assert ecr[0]["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":ecr:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
             ":repository/*"],
        ]
    }  # fmt: skip
    logs = [s for s in statements if s not in ecr]
    assert sorted(a for s in logs for a in _list(s["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert all(s["Resource"]["Fn::GetAtt"][0].startswith("FunctionLogs") for s in logs)
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" for s in statements)


def test_no_managed_policies(template: Template) -> None:
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_the_ecr_actions_match_what_the_adapter_calls() -> None:
    source = (ROOT / "lambda/ecr_sweeper/registry.py").read_text()
    operations = (set(re.findall(r"self\._ecr\.(\w+)\(", source)) - {"get_paginator"}) | set(
        re.findall(r'get_paginator\("(\w+)"\)', source)
    )
    assert {"ecr:" + "".join(word.title() for word in op.split("_")) for op in operations} == set(ECR_ACTIONS)


def test_errors_alarm(template: Template) -> None:
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
    _, template = synth(
        {
            "schedule": "cron(30 1 ? * MON-FRI *)",
            "defaultRetentionDays": "off",
            "retentionTagKey": "team/retention",
            "dryRun": "true",
            "logRetentionDays": "90",
            "logLevel": "debug",
            "reserveConcurrency": False,
        },
        bundle=False,
    )
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(30 1 ? * MON-FRI *)"})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})
    properties = function_properties(template)
    assert "ReservedConcurrentExecutions" not in properties
    assert properties["Environment"]["Variables"] | {} == {
        "RETENTION_TAG_KEY": "team/retention",
        "DEFAULT_RETENTION_DAYS": "off",
        "DRY_RUN": "true",
        "POWERTOOLS_SERVICE_NAME": "ecr-sweeper",
        "POWERTOOLS_METRICS_NAMESPACE": "EcrSweeper",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"schedule": "every night"}, "schedule='every night'"),
        ({"schedule": "cron(0 3 * * *)"}, "schedule='cron(0 3 * * *)'"),
        ({"defaultRetentionDays": "7 days"}, "DEFAULT_RETENTION_DAYS='7 days'"),
        ({"dryRun": "maybe"}, "dryRun='maybe'"),
        ({"logRetentionDays": 31}, "logRetentionDays=31"),
        ({"logRetentionDays": "a month"}, "logRetentionDays='a month'"),
        ({"retentionTagKey": "bad*key"}, "RETENTION_TAG_KEY='bad*key'"),
        ({"logLevel": "chatty"}, "POWERTOOLS_LOG_LEVEL='CHATTY'"),
        ({"reserveConcurrency": "no"}, "reserveConcurrency='no'"),
    ],
)
def test_invalid_context_stops_synth(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError) as caught:
        synth(context, bundle=False)
    assert message in str(caught.value)


def test_cdk_json_carries_the_documented_defaults() -> None:
    assert CDK_JSON["context"] == DEFAULTS
    assert CDK_JSON["app"] == ".venv/bin/python app.py"


def test_cdk_nag_would_fail_synth_on_an_unacknowledged_finding() -> None:
    # Guards the guard: the plugin is wired so that a finding stops synth.
    app = App()
    stack = Stack(app, "Probe")
    iam.Role(stack, "Wide", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")).add_to_policy(
        iam.PolicyStatement(actions=["ecr:*"], resources=["*"])
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed: .*AwsSolutions-IAM5"):
        app.synth()


def test_the_stack_passes_cdk_nag(default_stack: Any) -> None:
    # default_stack was synthesized with the AwsSolutions plugin; synth raises on any finding.
    stack, _ = default_stack
    assert stack.stack_name == "EcrSweeper"


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
