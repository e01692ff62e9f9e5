"""The Step Functions engine's definition: Template assertions, and cdk-nag through synth()."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import ContextError
from tests.infrastructure.conftest import PRIVATE_ENCRYPTED_BUCKET, synth


@pytest.fixture(scope="module")
def template() -> Template:
    # synth() runs cdk-nag's AwsSolutions checks: it raises on any unacknowledged finding.
    return synth({"engine": "stepfunctions", "mapConcurrency": 8, "repositoriesPerInvocation": 250}, bundle=False)[1]


def definition(template: Template) -> dict[str, Any]:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(part if isinstance(part, str) else "REF" for part in parts))  # type: ignore[no-any-return]


def test_the_schedule_starts_the_state_machine_with_the_scheduled_event(template: Template) -> None:
    # Given the Step Functions engine's template, and the target of its schedule
    [rule] = template.find_resources("AWS::Events::Rule").values()
    [target] = rule["Properties"]["Targets"]

    # Then the schedule starts the state machine, with the scheduled event as the execution's input
    assert target["Arn"]["Ref"].startswith("EngineStateMachine")
    assert "Input" not in target, "the execution input is the event itself"


def test_list_then_inline_or_distributed_map_then_collect(template: Template) -> None:
    # Given the Step Functions engine's state machine definition
    states = definition(template)["States"]

    # Then it starts at List, then the execution's one in-use scan, invoked again until it is complete
    assert definition(template)["StartAt"] == "List"
    assert states["List"]["Next"] == "ScanInUse"
    scan = states["ScanInUse"]
    assert scan["Parameters"] == {
        "step": "scan",
        "execution.$": "$$.Execution.Name",
        "invocations.$": "$.scan.invocations",
    }
    assert scan["ResultPath"] == "$.scan" and scan["Next"] == "ScanComplete"
    [complete] = states["ScanComplete"]["Choices"]
    assert complete == {"Variable": "$.scan.complete", "BooleanEquals": True, "Next": "FitsInState"}
    assert states["ScanComplete"]["Default"] == "ScanInUse"

    # And only then a choice goes to the distributed map when the list was written to S3, else to the inline map
    [choice] = states["FitsInState"]["Choices"]
    assert choice == {"Variable": "$.itemsKey", "IsPresent": True, "Next": "SweepBatchesFromS3"}
    assert states["FitsInState"]["Default"] == "SweepBatches"

    # And the inline map sweeps the listed batches, eight at a time, then collects
    inline = states["SweepBatches"]
    assert inline["ItemsPath"] == "$.batches" and inline["MaxConcurrency"] == 8
    assert inline["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert inline["Next"] == "Collect"

    # And the distributed map reads the batches from S3, eight at a time, writes its results to S3, then collects from
    # there
    distributed = states["SweepBatchesFromS3"]
    assert distributed["MaxConcurrency"] == 8
    assert distributed["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert distributed["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert distributed["ItemReader"]["Parameters"]["Key.$"] == "$.itemsKey"
    assert distributed["ResultWriter"]["Parameters"]["Prefix"] == "results"
    assert distributed["Next"] == "CollectFromS3"

    # And both hand each batch the same fields
    for selector in (inline["ItemSelector"], distributed["ItemSelector"]):
        assert selector == {
            "step": "sweep",
            "repositories.$": "$$.Map.Item.Value.repositories",
            "dryRun.$": "$.dryRun",
            "asOf.$": "$.asOf",
            # The list step decides the preview week once; every batch says when deleting starts.
            "deletingStarts.$": "$.deletingStarts",
            # Each batch keeps its own rotation cursor, by its number, when the whole region was listed.
            "batch.$": "$$.Map.Item.Index",
            "rotate.$": "$.rotate",
            # Each batch reads the execution's in-use picture instead of scanning again.
            "picture.$": "$.scan.picture",
        }
    # And each collect step is given the results and ends the execution
    assert states["Collect"]["Parameters"] == {"step": "collect", "results.$": "$"}
    assert states["CollectFromS3"]["Parameters"] == {"step": "collect", "resultWriter.$": "$.ResultWriterDetails"}
    assert states["Collect"]["End"] and states["CollectFromS3"]["End"]


def test_the_steps_function_runs_the_same_code_with_the_engines_settings(template: Template) -> None:
    # Given the steps function and the main function of the Step Functions engine
    functions = template.find_resources("AWS::Lambda::Function")
    [steps] = [f for f in functions.values() if f["Properties"]["Handler"] == "ecr_sweeper.stepfunctions.handler"]
    [main] = [f for f in functions.values() if f["Properties"]["Handler"] == "ecr_sweeper.handler.lambda_handler"]

    # Then both run the same code with the same role
    assert steps["Properties"]["Code"] == main["Properties"]["Code"]
    assert steps["Properties"]["Role"] == main["Properties"]["Role"]
    # And the steps function has the engine's settings, the work bucket, 15 minutes and arm64
    variables = steps["Properties"]["Environment"]["Variables"]
    assert variables["REPOSITORIES_PER_INVOCATION"] == "250"
    assert variables["WORK_BUCKET"]["Ref"].startswith("EngineWorkBucket")
    assert steps["Properties"]["Timeout"] == 900 and steps["Properties"]["Architectures"] == ["arm64"]


def test_the_work_bucket_is_private_encrypted_ssl_only_and_expires(template: Template) -> None:
    # Given the Step Functions engine's template
    # Then its work bucket is private and encrypted, and expires its objects after 7 days
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            **PRIVATE_ENCRYPTED_BUCKET,
            "LifecycleConfiguration": {"Rules": [Match.object_like({"ExpirationInDays": 7, "Status": "Enabled"})]},
        },
    )
    # And its policy denies any request without TLS
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}},
    )  # fmt: skip


def test_executions_are_logged_traced_and_alarmed(template: Template) -> None:
    # Given the Step Functions engine's template
    # Then the state machine logs every execution with its data, and traces it
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
         "TracingConfiguration": {"Enabled": True}},
    )  # fmt: skip
    # And an alarm fires on the first failed execution
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ExecutionsFailed", "Namespace": "AWS/States", "Threshold": 1,
         "ComparisonOperator": "GreaterThanOrEqualToThreshold"},
    )  # fmt: skip


def test_the_execution_log_group_is_a_vended_log_group_of_this_stack_alone(template: Template) -> None:
    """Step Functions developer guide, best practices: "prefix the log group name with
    /aws/vendedlogs/", because the CloudWatch Logs resource policy is limited to 5,120 characters;
    with the prefix, the service uses one wildcard in it instead of one entry per log group."""
    # Given the log group the state machine logs to
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    [destination] = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    logical = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    name = template.find_resources("AWS::Logs::LogGroup")[logical]["Properties"]["LogGroupName"]

    # Then its name is under /aws/vendedlogs/states/, with the stack's name and its own stack id
    # /aws/vendedlogs/states/<stack>-<the stack's own id>: a stack created again beside the log group
    # its predecessor retained does not collide with it.
    assert name == {
        "Fn::Join": [
            "",
            ["/aws/vendedlogs/states/EcrSweeper-",
             {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}],
        ]
    }  # fmt: skip


def test_the_errors_alarm_and_the_dashboard_watch_the_function_the_state_machine_runs(template: Template) -> None:
    # Given the steps function and the main function of the Step Functions engine
    functions = template.find_resources("AWS::Lambda::Function")
    [steps] = [n for n, f in functions.items() if f["Properties"]["Handler"] == "ecr_sweeper.stepfunctions.handler"]
    [twin] = [n for n, f in functions.items() if f["Properties"]["Handler"] == "ecr_sweeper.handler.lambda_handler"]

    # When the errors alarm and the dashboard are read
    [errors] = [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Errors"
    ]

    # Then the errors alarm watches the steps function
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": steps}}]
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    # And the dashboard shows the steps function, not the main function
    assert steps in body and twin not in body


def _ssm_resources(template: Template, action: str) -> list[str]:
    policies = template.find_resources("AWS::IAM::Policy").values()
    return [
        json.dumps(statement["Resource"])
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if action in statement["Action"]
    ]


def test_the_steps_keep_each_batchs_cursor_under_the_state_path_and_read_those_of_earlier_versions(
    template: Template,
) -> None:
    # Given the Step Functions engine's template
    # Each batch keeps its cursor in its own parameter under the state path, which the steps create
    # (PutParameter creates a parameter that does not exist). A parameter's ARN is
    # arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}
    # (Service Authorization Reference, AWS Systems Manager, resource type "parameter").
    # Then the steps may write one parameter per batch, under the state path only
    [written] = _ssm_resources(template, "ssm:PutParameter")
    assert written.endswith(':parameter/ecr-sweeper/EcrSweeper/state/*"]]}')
    assert written.count("*") == 1, "no wildcard beyond the state path"
    # And they may read the batches' cursors that earlier versions kept under the cursor parameter
    # Earlier versions kept the batches' cursors under the stack's cursor parameter: read only.
    [_, read] = _ssm_resources(template, "ssm:GetParameter")
    assert ':parameter/ecr-sweeper/EcrSweeper/next-start/batch/*"' in read


def test_the_lambda_engine_reads_no_batch_cursor() -> None:
    # Given the Lambda engine's template
    _, lambda_engine = synth(bundle=False)

    # Then its role may read no batch cursor
    assert not [r for r in _ssm_resources(lambda_engine, "ssm:GetParameter") if "batch" in r]


def test_the_default_engine_has_no_state_machine() -> None:
    # Given the default template, of the Lambda engine
    _, template = synth(bundle=False)

    # Then it has no state machine
    template.resource_count_is("AWS::StepFunctions::StateMachine", 0)
    # nor a work bucket: its only bucket is the in-use cache's (test_stack.py)
    assert [logical[: len("InUseCacheBucket")] for logical in template.find_resources("AWS::S3::Bucket")] == [
        "InUseCacheBucket"
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"engine": "batch"}, "engine='batch'"),
        ({"mapConcurrency": 0}, "mapConcurrency=0"),
        ({"repositoriesPerInvocation": 0}, "repositoriesPerInvocation=0"),
    ],
)
def test_invalid_engine_context_stops_synth(context: dict[str, Any], message: str) -> None:
    # Given an invalid engine context
    # When the app is synthesized, then it stops, naming the key
    with pytest.raises(ContextError, match=message):
        synth(context, bundle=False)
