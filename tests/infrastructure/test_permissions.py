"""Every cross-service permission chain of the stack, checked against the documented AWS rule.

moto does not evaluate IAM or resource policies and skips alarms, so a chain that a real account
would refuse deploys and "works" there. Each test finds the resource policy (and key policy) that
allows each hop, and names the documentation that requires it.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infrastructure.conftest import synth


@pytest.fixture(scope="module")
def lambda_engine() -> Template:
    return synth({"alarmEmail": "oncall@example.com"}, bundle=False)[1]


@pytest.fixture(scope="module")
def stepfunctions_engine() -> Template:
    return synth({"engine": "stepfunctions"}, bundle=False)[1]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logical(template: Template, resource_type: str) -> str:
    [logical] = template.find_resources(resource_type)
    return str(logical)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _allows(statement: dict[str, Any], principal: str, action: str) -> bool:
    actions = _list(statement["Action"])
    matches = action in actions or any(a.endswith("*") and action.startswith(a[:-1]) for a in actions)
    return statement["Effect"] == "Allow" and statement.get("Principal") == {"Service": principal} and matches


def _role_statements(template: Template, role_logical: str) -> list[dict[str, Any]]:
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = [r["Ref"] for r in policy["Properties"].get("Roles", [])]
        if role_logical in roles:
            found += _statements(policy["Properties"]["PolicyDocument"])
    return found


def _references(value: Any, logical: str) -> bool:
    """Whether a CloudFormation value (Ref, Fn::GetAtt, Fn::Join of them) points at `logical`."""
    if isinstance(value, dict):
        if value.get("Ref") == logical or (value.get("Fn::GetAtt") or [None])[0] == logical:
            return True
        return any(_references(v, logical) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, logical) for v in value)
    return False


# The conditions that keep another account's alarms from using this topic and key ("confused
# deputy" prevention, SNS developer guide, "Amazon SNS access control case examples" and
# IAM user guide, "The confused deputy problem": aws:SourceAccount / aws:SourceArn).
def _only_our_alarms(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition", {})
    account = condition.get("StringEquals", {}).get("aws:SourceAccount")
    source = condition.get("ArnLike", {}).get("aws:SourceArn")
    return account == {"Ref": "AWS::AccountId"} and source is not None and ":alarm:*" in str(source)


def test_alarm_to_topic_to_key(lambda_engine: Template) -> None:
    # Given the Lambda engine's template, with an alarm e-mail
    # Then each hop from an alarm to the topic and its key is allowed:
    # 1. Every alarm notifies the topic, on ALARM (and the no-run alarm on INSUFFICIENT_DATA).
    topic = _logical(lambda_engine, "AWS::SNS::Topic")
    alarms = lambda_engine.find_resources("AWS::CloudWatch::Alarm").values()
    for alarm in alarms:
        actions = alarm["Properties"]["AlarmActions"] + alarm["Properties"].get("InsufficientDataActions", [])
        assert actions and all(action == {"Ref": topic} for action in actions)
    # 2. The topic policy lets CloudWatch publish. AWS::SNS::TopicPolicy replaces the topic's default
    # policy (CloudFormation, AWS::SNS::TopicPolicy), and enforce_ssl creates one whose only statement
    # denies: without an Allow for cloudwatch.amazonaws.com every alarm action fails (CloudWatch user
    # guide, "Using Amazon SNS to notify users": the topic's access policy must allow CloudWatch).
    [policy] = lambda_engine.find_resources("AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic}]
    publish = [
        s
        for s in _statements(policy["Properties"]["PolicyDocument"])
        if _allows(s, "cloudwatch.amazonaws.com", "sns:Publish")
    ]
    assert len(publish) == 1 and _only_our_alarms(publish[0])
    assert publish[0]["Resource"] == {"Ref": topic}
    # 3. The topic is encrypted with a customer managed key whose policy lets CloudWatch use it: "the
    # AWS managed key for Amazon SNS ... cannot be modified to allow [CloudWatch] access"; the key
    # policy must allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey* (SNS developer
    # guide, "Key management: Enable compatibility between event sources from AWS services and
    # encrypted topics").
    [topic_resource] = lambda_engine.find_resources("AWS::SNS::Topic").values()
    key = topic_resource["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_policy = lambda_engine.find_resources("AWS::KMS::Key")[key]["Properties"]["KeyPolicy"]
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        grants = [s for s in _statements(key_policy) if _allows(s, "cloudwatch.amazonaws.com", action)]
        assert len(grants) == 1 and _only_our_alarms(grants[0]), action


def test_rule_to_function_permission(lambda_engine: Template) -> None:
    # Given the Lambda engine's template
    # EventBridge invokes a Lambda function only where the function's resource-based policy allows
    # events.amazonaws.com, scoped to the rule (EventBridge user guide, "Using resource-based policies
    # for Amazon EventBridge", Lambda permissions).
    rule = _logical(lambda_engine, "AWS::Events::Rule")
    function = _logical(lambda_engine, "AWS::Lambda::Function")

    # Then one permission lets events.amazonaws.com invoke the function, from the rule only
    [permission] = lambda_engine.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "events.amazonaws.com"}}
    ).values()
    assert permission["Properties"]["Action"] == "lambda:InvokeFunction"
    assert _references(permission["Properties"]["FunctionName"], function)
    assert _references(permission["Properties"]["SourceArn"], rule)


def test_rule_to_dead_letter_queue(lambda_engine: Template) -> None:
    # Given the Lambda engine's template, and the dead-letter queue of its rule
    # "EventBridge needs permission to send events to the dead-letter queue": a queue policy allowing
    # events.amazonaws.com sqs:SendMessage with aws:SourceArn of the rule (EventBridge user guide,
    # "Using dead-letter queues to process undelivered events", granting permissions). The queue is
    # encrypted with SQS-managed keys: an AWS managed KMS key could not be granted to EventBridge.
    rule = _logical(lambda_engine, "AWS::Events::Rule")
    queue = lambda_engine.find_resources("AWS::Events::Rule")[rule]["Properties"]["Targets"][0]["DeadLetterConfig"]
    queue_logical = queue["Arn"]["Fn::GetAtt"][0]

    # Then the queue is encrypted with SQS-managed keys, and its policy lets the rule send to it
    assert lambda_engine.find_resources("AWS::SQS::Queue")[queue_logical]["Properties"]["SqsManagedSseEnabled"] is True
    [policy] = [
        p for p in lambda_engine.find_resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_logical}]
    ]  # fmt: skip
    sends = [
        s
        for s in _statements(policy["Properties"]["PolicyDocument"])
        if _allows(s, "events.amazonaws.com", "sqs:SendMessage")
    ]
    assert len(sends) == 1
    assert _references(sends[0]["Condition"]["ArnEquals"]["aws:SourceArn"], rule)

    # Then also the function may send to the same queue when an invocation fails:
    # The function's own on-failure destination is the same queue; Lambda sends to it with the
    # function's execution role (Lambda developer guide, "Asynchronous invocation", destinations).
    [function] = lambda_engine.find_resources("AWS::Lambda::Function").values()
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    [config] = lambda_engine.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [queue_logical, "Arn"]
    }
    assert any(
        "sqs:SendMessage" in _list(s["Action"]) and _references(s["Resource"], queue_logical)
        for s in _role_statements(lambda_engine, role)
    )


def test_state_machine_to_function_and_bucket(stepfunctions_engine: Template) -> None:
    # Given the Step Functions engine's template, with the state machine's role, the steps function and the work bucket
    template = stepfunctions_engine
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = _role_statements(template, role)
    functions = template.find_resources("AWS::Lambda::Function")
    [steps] = [
        name for name, f in functions.items() if f["Properties"]["Handler"] == "ecr_sweeper.stepfunctions.handler"
    ]
    bucket = _logical(template, "AWS::S3::Bucket")

    # Then the state machine's role may invoke the steps function
    # LambdaInvoke needs lambda:InvokeFunction on the function (Step Functions developer guide, "IAM
    # policies for Lambda": the function and its versions).
    assert any("lambda:InvokeFunction" in _list(s["Action"]) and _references(s["Resource"], steps) for s in statements)
    # And it may get and put objects in the work bucket, with no wildcard delete or list action
    # A distributed Map's ItemReader needs s3:GetObject on the items, its ResultWriter s3:PutObject on
    # the results (Step Functions developer guide, "IAM policies for Distributed Map": ItemReader,
    # ResultWriter); nothing else, and only in the work bucket.
    bucket_actions = {a for s in statements if _references(s["Resource"], bucket) for a in _list(s["Action"])}
    assert {"s3:GetObject", "s3:PutObject"} <= bucket_actions
    assert not [a for a in bucket_actions if a.startswith(("s3:Delete", "s3:List")) and a.endswith("*")]
    # And the schedule's role may start this state machine
    # The schedule starts it with a role that may start exactly this state machine (EventBridge user
    # guide, "Using identity-based policies", targets that need an IAM role).
    [rule] = template.find_resources("AWS::Events::Rule").values()
    [target] = rule["Properties"]["Targets"]
    events_role = target["RoleArn"]["Fn::GetAtt"][0]
    machine_logical = _logical(template, "AWS::StepFunctions::StateMachine")
    assert any(
        "states:StartExecution" in _list(s["Action"]) and s["Resource"] == {"Ref": machine_logical}
        for s in _role_statements(template, events_role)
    )
