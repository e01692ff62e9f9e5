"""Alarms that reach someone, the schedule's retries and dead-letter queue, audit queries, the
dashboard; and cfn-lint on both engines' templates."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from ecr_sweeper.core.model import Protection
from infra.config import ContextError
from infra.observability import QUERIES
from tests.infrastructure.conftest import synth


@pytest.fixture(scope="module")
def template() -> Template:
    return synth({"alarmEmail": "platform-oncall@example.com"}, bundle=False)[1]


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"].get("MetricName", "?"): a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def test_the_alarm_topic_is_encrypted_ssl_only_and_mails_the_configured_address(template: Template) -> None:
    # Given the template with an alarm e-mail
    # Then the alarm topic is encrypted with a key of the stack
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}})
    # And its policy denies any request without TLS
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}},
    )  # fmt: skip
    # And the e-mail address is subscribed to it
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "platform-oncall@example.com"}
    )
    # CloudWatch may use the key to publish to the encrypted topic.
    [key] = template.find_resources("AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    # And the key rotates
    assert key["Properties"]["EnableKeyRotation"] is True


def test_no_email_means_no_subscription() -> None:
    # Given the default template, without an alarm e-mail
    _, template = synth(bundle=False)

    # Then there is the alarm topic, but no subscription
    template.resource_count_is("AWS::SNS::Subscription", 0)
    template.resource_count_is("AWS::SNS::Topic", 1)


def test_every_alarm_notifies_the_topic_and_lives_in_observability(template: Template) -> None:
    # Given the template with an alarm e-mail
    # Then every alarm notifies the alarm topic
    for properties in alarms(template).values():
        [action] = properties["AlarmActions"]
        assert action["Ref"].startswith("ObservabilityAlarmTopic")
    # And every alarm is in the Observability construct
    assert all(name.startswith("Observability") for name in template.find_resources("AWS::CloudWatch::Alarm"))


def test_the_six_alarms(template: Template) -> None:
    # Given the alarms of the template with an alarm e-mail
    found = alarms(template)

    # Then there are six, one per metric
    assert set(found) == {
        "Errors",
        "DeleteFailures",
        "RepositoryErrors",
        "RepositoriesStarved",
        "Invocations",
        "ApproximateNumberOfMessagesVisible",
    }
    # And an error of the function alarms at once
    assert found["Errors"]["Namespace"] == "AWS/Lambda"
    assert (
        found["Errors"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and found["Errors"]["Threshold"] == 1
    )
    # And a delete failure, a repository error or a starved repository alarms on the first one
    for metric in ("DeleteFailures", "RepositoryErrors", "RepositoriesStarved"):
        assert found[metric]["Namespace"] == "EcrSweeper"
        assert found[metric]["Dimensions"] == [{"Name": "service", "Value": "ecr-sweeper"}]
        assert found[metric]["ComparisonOperator"] == "GreaterThanThreshold" and found[metric]["Threshold"] == 0
    # And the heartbeat alarms when there was no run in 26 hours
    heartbeat = found["Invocations"]
    assert heartbeat["ComparisonOperator"] == "LessThanThreshold" and heartbeat["Threshold"] == 1
    assert heartbeat["Period"] * heartbeat["EvaluationPeriods"] == 26 * 3600
    assert heartbeat["DatapointsToAlarm"] == heartbeat["EvaluationPeriods"]
    # No run in the window leaves no data point at all. "missing": "if all data points in the
    # evaluation range are missing, the alarm transitions to INSUFFICIENT_DATA" (CloudWatch user
    # guide, "Configuring how CloudWatch alarms treat missing data"), and a new alarm starts in
    # INSUFFICIENT_DATA ("Alarm states"). So the page is on the transition OK -> INSUFFICIENT_DATA: a
    # missed night within 26 hours, while a fresh deploy stays in its first state and pages no one.
    # ("breaching" would page at once after every deploy, before the first scheduled run.)
    assert heartbeat["TreatMissingData"] == "missing"
    [action] = heartbeat["InsufficientDataActions"]
    assert action["Ref"].startswith("ObservabilityAlarmTopic")
    # And the dead-letter queue alarms on its first message
    assert found["ApproximateNumberOfMessagesVisible"]["Threshold"] == 0


def test_the_schedule_retries_then_dead_letters_to_an_encrypted_queue(template: Template) -> None:
    # Given the schedule's rule and its target
    [rule] = template.find_resources("AWS::Events::Rule").values()
    [target] = rule["Properties"]["Targets"]

    # Then the target retries 8 times within 2 hours, then sends to the dead-letter queue
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("ObservabilityScheduleDeadLetters")
    # And the queue is encrypted with SQS-managed keys and keeps messages 14 days
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )


def test_the_state_machine_engine_watches_executions_instead() -> None:
    # Given the Step Functions engine's template
    _, template = synth({"engine": "stepfunctions"}, bundle=False)

    # Then its alarms watch failed and started executions, and are in the Observability construct
    found = alarms(template)
    assert found["ExecutionsFailed"]["Namespace"] == "AWS/States"
    assert all(name.startswith("Observability") for name in template.find_resources("AWS::CloudWatch::Alarm"))
    assert found["ExecutionsStarted"]["Namespace"] == "AWS/States"
    assert found["ExecutionsStarted"]["TreatMissingData"] == "missing"
    assert found["ExecutionsStarted"]["InsufficientDataActions"]
    # And its schedule has a dead-letter queue
    [rule] = template.find_resources("AWS::Events::Rule").values()
    assert "DeadLetterConfig" in rule["Properties"]["Targets"][0]


def test_the_saved_queries_read_the_functions_log_group(template: Template) -> None:
    # Given the saved queries of the template
    definitions = {
        q["Properties"]["Name"]: q["Properties"] for q in template.find_resources("AWS::Logs::QueryDefinition").values()
    }

    # Then there is one per query of the observability module, each on the function's log group
    assert set(definitions) == {f"ecr-sweeper/{name}" for name in QUERIES}
    for definition in definitions.values():
        [group] = definition["LogGroupNames"]
        assert group["Ref"].startswith("FunctionLogs")
    # And the queries filter what their names promise
    deleted = definitions["ecr-sweeper/deleted-in-the-last-run"]["QueryString"]
    assert 'filter action in ["deleted", "would_delete"]' in deleted
    assert (
        'digest = "sha256:REPLACE-ME"' in definitions["ecr-sweeper/why-was-this-digest-kept-or-deleted"]["QueryString"]
    )
    assert 'record_type = "invalid_retention_tag"' in definitions["ecr-sweeper/invalid-retention-tags"]["QueryString"]


def test_the_dashboard_shows_deletions_bytes_protections_failures_and_duration(template: Template) -> None:
    # Given the dashboard of the template
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()

    # Then its name holds the region
    # Dashboards are global to the account: the region in the name keeps two regions' stacks apart.
    assert dashboard["Properties"]["DashboardName"] == {
        "Fn::Join": ["", ["EcrSweeper-", {"Ref": "AWS::Region"}, "-sweeps"]]
    }
    # And it shows deletions, bytes reclaimed, failures, errors, starved repositories and duration
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for needle in ("ImagesDeleted", "BytesReclaimed", "DeleteFailures", "RepositoryErrors", "RepositoriesStarved",
                   "Duration", "Digests deleted", "Run duration"):  # fmt: skip
        assert needle in body
    # And one line per protection family
    # Every protection family the function emits has its line.
    for family in Protection:
        assert f"ProtectedBy{family.value}" in body


def test_the_dashboard_and_alarms_name_only_metrics_the_function_emits(template: Template) -> None:
    # Given the metrics the function emits (core/metrics.py), and the template's alarms and dashboard
    # The names come from the runtime's own table (core/metrics.py), never from a copy that can drift.
    from ecr_sweeper.core.metrics import METRICS
    from infra.observability import emitted

    # When the EcrSweeper metrics that the alarms and the dashboard name are collected
    named = {a["MetricName"] for a in alarms(template).values() if a.get("Namespace") == "EcrSweeper"}
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    named |= set(re.findall(r'\\"EcrSweeper\\",\\"(\w+)\\"', json.dumps(dashboard["Properties"]["DashboardBody"])))

    # Then they are among the metrics the function emits
    assert {"DeleteFailures", "RepositoryErrors", "RepositoriesStarved", "ImagesDeleted"} <= named
    assert named <= set(METRICS)
    # And a name the function does not emit is refused
    with pytest.raises(KeyError, match="DeleteFailure"):
        emitted("DeleteFailure")


def test_an_invalid_alarm_email_stops_synth() -> None:
    # Given an alarm e-mail that is not an address
    # When the app is synthesized, then it stops, naming the key and the value
    with pytest.raises(ContextError, match="alarmEmail='oncall'"):
        synth({"alarmEmail": "oncall"}, bundle=False)


# W3005 (obsolete DependsOn): CDK makes a function depend on its role's policy explicitly, so that
# the policy exists before the first invocation; the role itself is also listed. Harmless.
CDK_BY_DESIGN = {"W3005"}


@pytest.mark.parametrize("engine", ["lambda", "stepfunctions"])
def test_cfn_lint_finds_no_error_or_warning(engine: str) -> None:
    # Given the template of the engine, with an alarm e-mail
    from cfnlint.api import lint_all

    _, template = synth({"engine": engine, "alarmEmail": "ops@example.com"}, bundle=False)

    # When cfn-lint checks it
    matches = lint_all(json.dumps(template.to_json()))

    # Then it finds no error or warning, besides CDK's explicit dependencies
    problems = [str(m) for m in matches if m.rule.id[0] in "EW" and m.rule.id not in CDK_BY_DESIGN]
    assert problems == []
    # And it did run
    assert matches, "cfn-lint ran (its informational findings are not asserted)"
