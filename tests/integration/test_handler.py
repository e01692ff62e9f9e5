"""The real lambda_handler against the corrected emulator: registry state, logs and metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ecr_sweeper.clients import RETRY_ATTEMPTS
from tests.emulator.ecr import Fault, faults, set_image_times
from tests.emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.registry import NOW, SIZE, ago, digests, untagged
from tests.output import Invocation

# --- retention --------------------------------------------------------------------------------


def test_default_retention_deletes_untagged_digests_older_than_seven_days(ecr: Any, invoke: Invoke) -> None:
    # Given a repository without a retention tag
    create_repository(ecr, "team/api")
    old = untagged(ecr, "team/api", "old", 8)
    young = untagged(ecr, "team/api", "young", 6)
    tagged = push(ecr, "team/api", "tagged", tag="v1", pushed_at=ago(400))

    # When the scheduled sweep runs
    run = invoke()

    # Then only the expired untagged digest is gone
    assert run.error is None
    assert digests(ecr, "team/api") == {young, tagged}
    [deleted] = run.records(action="deleted")
    assert deleted["repository"] == "team/api"
    assert deleted["digest"] == old
    assert deleted["level"] == "INFO"
    assert deleted["size_bytes"] == SIZE
    assert deleted["reason"].startswith("expired: pushed 8d ago")
    assert "retention 7d" in deleted["reason"]
    assert datetime.fromisoformat(deleted["pushed_at"]) == ago(8).replace(microsecond=ago(8).microsecond // 1000 * 1000)
    assert run.metric("ImagesDeleted") == 1
    assert run.metric("BytesReclaimed") == SIZE
    assert run.metric("ImagesScanned") == 3
    assert run.metric("UntaggedImages") == 2
    assert run.metric("RepositoriesScanned") == 1


def test_a_moved_tag_leaves_an_untagged_digest_that_expires(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "web", "3")
    first = push(ecr, "web", "build-1", tag="latest", pushed_at=ago(10))
    second = push(ecr, "web", "build-2", tag="latest")

    run = invoke()

    assert digests(ecr, "web") == {second}
    assert [r["digest"] for r in run.records(action="deleted")] == [first]


@pytest.mark.parametrize(
    ("tag", "expect_deleted"),
    [("0", {"d1", "d6", "d30"}), ("3", {"d6", "d30"}), ("3d", {"d6", "d30"}), (" 30D ", {"d30"}), ("off", set())],
)
def test_retention_tag_values(ecr: Any, invoke: Invoke, tag: str, expect_deleted: set[str]) -> None:
    create_repository(ecr, "svc", tag)
    pushed = {name: untagged(ecr, "svc", name, days) for name, days in (("d1", 0.5), ("d6", 6), ("d30", 30))}
    kept_tagged = push(ecr, "svc", "t", tag="prod", pushed_at=ago(999))

    run = invoke()

    assert run.error is None
    expected_left = {d for name, d in pushed.items() if name not in expect_deleted} | {kept_tagged}
    assert digests(ecr, "svc") == expected_left
    assert {r["digest"] for r in run.records(action="deleted")} == {pushed[n] for n in expect_deleted}
    assert run.metric("ImagesDeleted") == len(expect_deleted)


def test_retention_zero_deletes_even_a_digest_pulled_a_minute_ago(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "scratch", "0")
    digest = untagged(ecr, "scratch", "x", 0.01, last_pulled_at=NOW - timedelta(minutes=1))

    run = invoke()

    assert digests(ecr, "scratch") == set()
    assert run.records(action="deleted")[0]["digest"] == digest


def test_off_repository_is_not_even_listed(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "golden", "never")
    keep = untagged(ecr, "golden", "x", 900)
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="golden"))

    run = invoke()
    faults.reset()

    # No DescribeImages call was made, or the injected fault would have failed the run.
    assert run.error is None
    assert digests(ecr, "golden") == {keep}
    [summary] = run.records(record_type="repository_summary")
    assert summary["status"] == "skipped"
    assert summary["retention"] == "never"


def test_a_recent_pull_keeps_an_old_digest(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "batch", "7")
    pulled = untagged(ecr, "batch", "pulled", 60, last_pulled_at=ago(2))
    stale = untagged(ecr, "batch", "stale", 60, last_pulled_at=ago(8))

    run = invoke(env={"POWERTOOLS_LOG_LEVEL": "DEBUG"})

    assert digests(ecr, "batch") == {pulled}
    [deleted] = run.records(action="deleted")
    assert deleted["digest"] == stale
    assert "last pulled 8d ago" in deleted["reason"]
    [kept] = run.records(action="kept")
    assert kept["digest"] == pulled
    assert kept["level"] == "DEBUG"
    assert kept["reason"].startswith("pulled recently: last pulled 2d ago")


def test_opt_in_mode_sweeps_only_tagged_repositories(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "opted-in", "1")
    create_repository(ecr, "untouched")
    gone = untagged(ecr, "opted-in", "a", 5)
    stays = untagged(ecr, "untouched", "b", 500)

    run = invoke(env={"DEFAULT_RETENTION_DAYS": "off"})

    assert digests(ecr, "opted-in") == set()
    assert digests(ecr, "untouched") == {stays}
    assert [r["digest"] for r in run.records(action="deleted")] == [gone]
    statuses = {r["repository"]: r["status"] for r in run.records(record_type="repository_summary")}
    assert statuses == {"opted-in": "swept", "untouched": "skipped"}


def test_custom_retention_tag_key(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "custom", "1", key="cleanup/days")
    create_repository(ecr, "default-key", "1")  # this key is not the configured one: default 30 applies
    a = untagged(ecr, "custom", "a", 2)
    b = untagged(ecr, "default-key", "b", 2)

    invoke(env={"RETENTION_TAG_KEY": "cleanup/days", "DEFAULT_RETENTION_DAYS": "30"})

    assert a not in digests(ecr, "custom")
    assert digests(ecr, "default-key") == {b}


# --- invalid tags -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "7 days", "1.5", "", "99999", "3dd", "٣"])
def test_invalid_retention_tag_skips_only_that_repository(ecr: Any, invoke: Invoke, value: str) -> None:
    create_repository(ecr, "broken", value)
    create_repository(ecr, "healthy", "1")
    protected = untagged(ecr, "broken", "p", 900)
    untagged(ecr, "healthy", "h", 5)

    run = invoke()

    assert run.error is None, "an invalid tag is not a failed run"
    assert digests(ecr, "broken") == {protected}
    assert digests(ecr, "healthy") == set()
    [warning] = run.records(record_type="invalid_retention_tag")
    assert warning["level"] == "WARNING"
    assert warning["repository"] == "broken"
    assert warning["tag_key"] == "ecr-sweeper:retention-days"
    assert warning["tag_value"] == value
    assert "broken" in warning["message"] and repr(value) in warning["message"]
    assert run.metric("InvalidRetentionTags") == 1
    assert run.metric("RepositoryErrors") == 0
    summary = {r["repository"]: r for r in run.result["repositories"]}  # type: ignore[index]
    assert summary["broken"]["status"] == "invalid_tag"


# --- dry run and forecasts --------------------------------------------------------------------


@pytest.mark.parametrize(("env", "event"), [({"DRY_RUN": "true"}, None), ({}, {"dryRun": True})])
def test_dry_run_deletes_nothing_and_reports_what_it_would(
    ecr: Any, invoke: Invoke, env: dict[str, str], event: Any
) -> None:
    create_repository(ecr, "app", "3")
    old = untagged(ecr, "app", "old", 4)
    young = untagged(ecr, "app", "young", 1)

    run = invoke(event=event, env=env)

    assert digests(ecr, "app") == {old, young}
    [would] = run.records(action="would_delete")
    assert would["digest"] == old and would["dry_run"] is True and would["level"] == "INFO"
    assert run.records(action="deleted") == []
    assert run.metric("ImagesDeleted") == 1
    assert run.metric("BytesReclaimed") == SIZE
    assert run.result["dryRun"] is True  # type: ignore[index]
    assert run.result["imagesDeleted"] == 1  # type: ignore[index]


def test_dry_run_false_in_the_event_overrides_the_environment(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "3")
    untagged(ecr, "app", "old", 4)

    run = invoke(event={"dryRun": False}, env={"DRY_RUN": "true"})

    assert digests(ecr, "app") == set()
    assert run.result["dryRun"] is False  # type: ignore[index]


def test_as_of_forecasts_what_a_later_run_would_delete(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "7")
    soon = untagged(ecr, "app", "soon", 5)
    later = untagged(ecr, "app", "later", 1)
    friday = (NOW + timedelta(days=3)).isoformat()

    run = invoke(event={"dryRun": True, "asOf": friday})

    assert digests(ecr, "app") == {soon, later}
    assert [r["digest"] for r in run.records(action="would_delete")] == [soon]
    assert run.result["asOf"] == datetime.fromisoformat(friday).isoformat()  # type: ignore[index]


def test_as_of_with_dry_run_from_the_environment_is_accepted(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "7")
    untagged(ecr, "app", "soon", 5)

    run = invoke(event={"asOf": "2099-01-01T00:00:00Z"}, env={"DRY_RUN": "true"})

    assert run.error is None
    assert len(run.records(action="would_delete")) == 1


# --- selection and scale ----------------------------------------------------------------------


def test_repositories_filter_sweeps_only_those(ecr: Any, invoke: Invoke) -> None:
    for name in ("alpha", "beta", "gamma"):
        create_repository(ecr, name, "1")
        untagged(ecr, name, name, 5)

    run = invoke(event={"repositories": ["alpha", "gamma"]})

    assert digests(ecr, "alpha") == set() and digests(ecr, "gamma") == set()
    assert len(digests(ecr, "beta")) == 1
    assert run.result["repositoriesScanned"] == 2  # type: ignore[index]


def test_repositories_filter_naming_a_missing_repository_fails_loudly_after_the_rest(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "alpha", "1")
    untagged(ecr, "alpha", "a", 5)

    run = invoke(event={"repositories": ["alpha", "no-such-repo"]})

    assert digests(ecr, "alpha") == set()
    assert run.error is not None and "no-such-repo" in str(run.error)
    assert run.metric("RepositoryErrors") == 1


def test_more_than_1000_images_in_one_repository(ecr: Any, ecr_calls: dict[str, int], invoke: Invoke) -> None:
    create_repository(ecr, "big", "1")
    old = {untagged(ecr, "big", f"old-{n}", 3) for n in range(1_150)}
    young = {untagged(ecr, "big", f"young-{n}", 0.1) for n in range(5)}
    ecr_calls.clear()

    run = invoke()
    counted = dict(ecr_calls)

    assert run.error is None
    assert digests(ecr, "big") == young
    assert run.metric("ImagesScanned") == 1_155
    assert run.metric("ImagesDeleted") == 1_150
    assert {r["digest"] for r in run.records(action="deleted")} == old
    assert run.metric("BytesReclaimed") == 1_150 * SIZE
    # Every page followed (1,000 per call), every batch within ECR's limit of 100 ids, and each
    # batch described once more just before its delete call.
    assert counted["BatchDeleteImage"] == 12
    assert counted["DescribeImages"] == 2 + 12


def test_more_than_100_repositories(ecr: Any, ecr_calls: dict[str, int], invoke: Invoke) -> None:
    for n in range(130):
        create_repository(ecr, f"repo-{n:03d}", "2")
        untagged(ecr, f"repo-{n:03d}", f"s{n}", 3)
    ecr_calls.clear()

    run = invoke()
    counted = dict(ecr_calls)

    assert run.metric("RepositoriesScanned") == 130
    assert run.metric("ImagesDeleted") == 130
    assert all(digests(ecr, f"repo-{n:03d}") == set() for n in range(130))
    assert counted["DescribeRepositories"] == 1
    assert counted["ListTagsForResource"] == 130


# --- failures ---------------------------------------------------------------------------------


def test_access_denied_on_one_repository_does_not_stop_the_others(ecr: Any, invoke: Invoke) -> None:
    for name in ("first", "locked", "last"):
        create_repository(ecr, name, "1")
        untagged(ecr, name, name, 5)
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="locked", message="no way"))

    run = invoke()
    faults.reset()

    assert digests(ecr, "first") == set() and digests(ecr, "last") == set()
    assert len(digests(ecr, "locked")) == 1
    assert run.error is not None
    assert "locked" in str(run.error) and "first" not in str(run.error)
    assert "AccessDeniedException" in str(run.error)
    [error] = run.records(record_type="repository_error")
    assert error["repository"] == "locked" and error["level"] == "ERROR"
    # Metrics are flushed even though the invocation raises.
    assert run.metric("RepositoryErrors") == 1
    assert run.metric("ImagesDeleted") == 2


def test_throttling_within_the_retry_budget_is_absorbed(ecr: Any, invoke: Invoke, retry_sleeps: list[float]) -> None:
    create_repository(ecr, "busy", "1")
    untagged(ecr, "busy", "x", 5)
    faults.calls.append(Fault("BatchDeleteImage", "ThrottlingException", repository="busy", times=2))

    run = invoke()

    assert run.error is None
    assert digests(ecr, "busy") == set()
    assert len(retry_sleeps) == 2, "botocore retried each throttled call with a backoff"


def test_throttling_that_outlasts_the_retries_fails_that_repository(
    ecr: Any, invoke: Invoke, retry_sleeps: list[float]
) -> None:
    create_repository(ecr, "hot", "1")
    create_repository(ecr, "cool", "1")
    untagged(ecr, "hot", "x", 5)
    untagged(ecr, "cool", "y", 5)
    faults.calls.append(Fault("ListTagsForResource", "ThrottlingException", repository="hot"))

    run = invoke()
    faults.reset()

    assert digests(ecr, "cool") == set()
    assert len(digests(ecr, "hot")) == 1
    assert "hot" in str(run.error) and "ThrottlingException" in str(run.error)
    assert len(retry_sleeps) == RETRY_ATTEMPTS - 1


def test_per_item_failures_are_read_logged_and_counted(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")
    ok = untagged(ecr, "app", "ok", 5)
    kms = untagged(ecr, "app", "kms", 5)
    faults.delete_items[kms] = ("KmsError", "key disabled")

    run = invoke()

    assert digests(ecr, "app") == {kms}
    assert [r["digest"] for r in run.records(action="deleted")] == [ok]
    [failed] = run.records(action="delete_failed")
    assert failed["digest"] == kms
    assert failed["failure_code"] == "KmsError"
    assert failed["failure_reason"] == "key disabled"
    assert run.metric("DeleteFailures") == 1
    assert run.metric("ImagesDeleted") == 1
    assert run.result["deleteFailures"] == 1  # type: ignore[index]


def test_a_digest_deleted_by_someone_else_meanwhile_is_gone_not_claimed_and_not_a_failure(
    ecr: Any, invoke: Invoke
) -> None:
    # ImageNotFound for a digest this run asked to delete: it is gone (a concurrent delete, or a
    # retried call whose first response was lost). Neither a deletion nor a failure: no alarm.
    create_repository(ecr, "app", "1")
    gone = untagged(ecr, "app", "gone", 5)
    faults.delete_items[gone] = ("ImageNotFound", "Requested image not found")

    run = invoke()

    assert run.error is None
    assert run.records(action="deleted") == [] and run.records(action="delete_failed") == []
    [record] = run.records(action="gone")
    assert record["digest"] == gone and "ImageNotFound" in record["reason"]
    assert run.metric("ImagesDeleted") == 0 and run.metric("BytesReclaimed") == 0
    assert run.metric("DeleteFailures") == 0


def test_listing_repositories_denied_fails_the_run_and_deletes_nothing(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")
    keep = untagged(ecr, "app", "x", 5)
    faults.calls.append(Fault("DescribeRepositories", "AccessDeniedException"))

    run = invoke()
    faults.reset()

    assert run.error is not None and "AccessDeniedException" in str(run.error)
    assert digests(ecr, "app") == {keep}


# --- configuration errors ---------------------------------------------------------------------


def assert_refused_before_any_call(
    ecr: Any, ecr_calls: dict[str, int], run_handler: Callable[[], Invocation], named: str
) -> None:
    # Given a repository where everything would expire
    create_repository(ecr, "app", "0")
    keep = untagged(ecr, "app", "x", 5)
    ecr_calls.clear()

    # When the handler runs with bad input
    run = run_handler()

    # Then it raises naming the bad value, made no AWS call, and deleted nothing
    assert run.error is not None and named in str(run.error)
    assert ecr_calls == {}
    assert digests(ecr, "app") == {keep}
    assert run.records(record_type="config_error")[0]["level"] == "ERROR"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DRY_RUN": "yes"}, "DRY_RUN='yes'"),
        ({"DEFAULT_RETENTION_DAYS": "seven"}, "DEFAULT_RETENTION_DAYS='seven'"),
        ({"DEFAULT_RETENTION_DAYS": "4000"}, "DEFAULT_RETENTION_DAYS='4000'"),
        ({"RETENTION_TAG_KEY": ""}, "RETENTION_TAG_KEY=''"),
        ({"POWERTOOLS_LOG_LEVEL": "LOUD"}, "POWERTOOLS_LOG_LEVEL='LOUD'"),
    ],
)
def test_invalid_settings_raise_before_any_aws_call(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke, env: dict[str, str], named: str
) -> None:
    assert_refused_before_any_call(ecr, ecr_calls, lambda: invoke(env=env), named)


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"dryrun": True}, "'dryrun'"),
        ({"dryRun": "true"}, "dryRun='true'"),
        ({"repositories": "app"}, "repositories='app'"),
        ({"repositories": []}, "repositories=[]"),
        ({"repositories": ["Bad Name"]}, "'Bad Name'"),
        ({"asOf": "2030-01-01T00:00:00Z"}, "only allowed in a dry run"),
        ({"asOf": "2030-01-01T00:00:00Z", "dryRun": False}, "only allowed in a dry run"),
        ({"asOf": "next friday", "dryRun": True}, "asOf='next friday'"),
        ({"asOf": 1767225600, "dryRun": True}, "asOf=1767225600"),
        (["app"], "['app']"),
    ],
)
def test_invalid_events_are_rejected_before_anything_is_deleted(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke, event: Any, named: str
) -> None:
    assert_refused_before_any_call(ecr, ecr_calls, lambda: invoke(event=event), named)


def test_the_scheduled_eventbridge_event_is_accepted_as_it_is(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")
    untagged(ecr, "app", "x", 5)
    event = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T03:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/ecr-sweeper-nightly"],
        "detail": {},
    }

    run = invoke(event=event)

    assert run.error is None
    assert digests(ecr, "app") == set()


# --- the summary ------------------------------------------------------------------------------


def test_the_return_value_is_a_small_json_summary(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")
    create_repository(ecr, "kept", "keep")
    untagged(ecr, "app", "x", 5)

    run = invoke()

    summary = json.loads(json.dumps(run.result))
    assert summary["dryRun"] is False
    assert summary["repositoriesScanned"] == 2
    assert summary["imagesDeleted"] == 1
    assert summary["bytesReclaimed"] == SIZE
    assert {r["repository"]: r["status"] for r in summary["repositories"]} == {"app": "swept", "kept": "skipped"}
    assert all("digest" not in json.dumps(r) for r in summary["repositories"])
    [app] = run.records(record_type="repository_summary", repository="app")
    assert app["images_deleted"] == 1 and app["status"] == "swept"


def test_metrics_use_the_configured_namespace_and_units(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")

    run = invoke(env={"POWERTOOLS_METRICS_NAMESPACE": "Platform/Sweeper"})

    definition = run.emitted.metric_definition("BytesReclaimed")
    assert definition["Namespace"] == "Platform/Sweeper"
    assert definition["Unit"] == "Bytes"
    for name in (
        "RepositoriesScanned",
        "ImagesScanned",
        "UntaggedImages",
        "ImagesDeleted",
        "DeleteFailures",
        "RepositoryErrors",
        "InvalidRetentionTags",
    ):
        assert run.emitted.metric_definition(name)["Unit"] == "Count"
        assert run.metric(name) == 0 or name == "RepositoriesScanned"
    assert len(run.emitted.metric_blobs) == 1, "flushed once per invocation"


def test_pushed_at_is_logged_for_every_deletion(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")
    digest = untagged(ecr, "app", "x", 5)
    set_image_times("app", digest, pushed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))

    run = invoke()

    [deleted] = run.records(action="deleted")
    assert deleted["pushed_at"] == "2026-01-02T03:04:05+00:00"


def test_every_repository_gets_one_summary_record_and_logs_carry_the_service(ecr: Any, invoke: Invoke) -> None:
    for name, tag in (("swept", "1"), ("kept", "keep"), ("bad", "x"), ("plain", None)):
        create_repository(ecr, name, tag)

    run = invoke()

    summaries = run.records(record_type="repository_summary")
    assert sorted(r["repository"] for r in summaries) == ["bad", "kept", "plain", "swept"]
    assert {r["service"] for r in run.emitted.logs} == {"ecr-sweeper"}


def test_service_name_comes_from_the_environment(ecr: Any, invoke: Invoke) -> None:
    create_repository(ecr, "app", "1")

    run = invoke(env={"POWERTOOLS_SERVICE_NAME": "registry-janitor"})

    assert {r["service"] for r in run.emitted.logs} == {"registry-janitor"}
    assert run.emitted.metric_blobs[0]["service"] == "registry-janitor"


def test_an_invalid_log_level_does_not_break_the_import_only_the_invocation() -> None:
    import subprocess
    import sys

    from infra.app import ROOT

    probe = "import ecr_sweeper.handler as h; print(h.lambda_handler.__name__)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "lambda"), "POWERTOOLS_LOG_LEVEL": "LOUD"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lambda_handler"


@pytest.mark.parametrize("context", [None, object(), "context"])
def test_any_context_object_is_accepted(ecr: Any, invoke: Invoke, context: Any) -> None:
    from unittest.mock import MagicMock

    create_repository(ecr, "app", "1")
    untagged(ecr, "app", "x", 5)

    run = invoke(context=MagicMock() if context == "context" else context)

    assert run.error is None
    assert digests(ecr, "app") == set()


# --- several regions --------------------------------------------------------------------------


def test_every_region_is_swept_and_one_that_fails_does_not_stop_the_others(ecr: Any, invoke: Invoke) -> None:
    import boto3

    from tests.emulator.identity import OWN

    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    for client, region in (
        (ecr, "us-east-1"),
        (west, "eu-west-1"),
        (boto3.client("ecr", **{**OWN, "region_name": "ap-south-1"}), "ap-south-1"),
    ):
        create_repository(client, "app", "1")
        push(client, "app", f"old-{region}", pushed_at=ago(5), region=region)
    faults.calls.append(Fault("DescribeRepositories", "AccessDeniedException", region="eu-west-1"))

    run = invoke(env={"REGIONS": "us-east-1,eu-west-1,ap-south-1"})
    faults.reset()

    assert digests(ecr, "app") == set()
    assert len(digests(west, "app")) == 1
    assert run.error is not None and "eu-west-1" in str(run.error) and "AccessDeniedException" in str(run.error)
    deleted = run.records(action="deleted")
    assert sorted(r["region"] for r in deleted) == ["ap-south-1", "us-east-1"]
    [failure] = run.records(record_type="region_error")
    assert failure["region"] == "eu-west-1" and failure["level"] == "ERROR"
    assert run.metric("ImagesDeleted") == 2
    assert run.emitted.metric_blobs[0]["regions"] == ["us-east-1", "eu-west-1", "ap-south-1"]


def test_the_summary_of_several_regions_lists_each(ecr: Any, invoke: Invoke) -> None:
    import boto3

    from tests.emulator.identity import OWN

    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    create_repository(ecr, "app", "1")
    create_repository(west, "app", "1")
    push(west, "app", "old", pushed_at=ago(5), region="eu-west-1")

    run = invoke(env={"REGIONS": "us-east-1,eu-west-1"})

    assert run.error is None
    assert run.result["imagesDeleted"] == 1  # type: ignore[index]
    assert [(r["region"], r["imagesDeleted"]) for r in run.result["regions"]] == [("us-east-1", 0), ("eu-west-1", 1)]  # type: ignore[index]
    assert {r["region"] for r in run.result["repositories"]} == {"us-east-1", "eu-west-1"}  # type: ignore[index]


def test_invalid_regions_are_refused_before_any_call(ecr: Any, ecr_calls: dict[str, int], invoke: Invoke) -> None:
    assert_refused_before_any_call(
        ecr, ecr_calls, lambda: invoke(env={"REGIONS": "us-east-1,Mars"}), "REGIONS='us-east-1,Mars'"
    )


def test_two_overlapping_sweeps_delete_nothing_wrong_and_report_no_failure(ecr: Any, invoke: Invoke) -> None:
    # Given a registry with what must stay (tagged, young, a child of a tagged index) and what expires
    from tests.emulator.ecr import Hook
    from tests.emulator.seed import push_index
    from tests.output import invoke_captured

    create_repository(ecr, "app", "3")
    keep = {
        push(ecr, "app", "tagged", tag="v1", pushed_at=ago(30)),
        untagged(ecr, "app", "young", 1),
    }
    child = untagged(ecr, "app", "child", 30)
    keep |= {child, push_index(ecr, "app", [child], tag="release", pushed_at=ago(30))}
    expired = {untagged(ecr, "app", f"old-{n}", 30) for n in range(3)}
    second: list[Invocation] = []

    def run_another_sweep(params: dict[str, Any]) -> None:
        # The second sweep starts and finishes between the first one's re-check and its delete call.
        second.append(invoke_captured(None, None))

    faults.hooks.append(Hook("BatchDeleteImage", run_another_sweep, times=1))

    # When two sweeps overlap (no reserved concurrency)
    first = invoke()

    # Then what must stay stays, each expired digest is deleted once, and neither run failed
    [other] = second
    assert digests(ecr, "app") == keep
    assert {r["digest"] for r in other.records(action="deleted")} == expired
    assert first.error is None and other.error is None
    assert {r["digest"] for r in first.records(action="gone")} == expired
    assert first.records(action="deleted") == [] and first.records(action="delete_failed") == []
    assert first.metric("DeleteFailures") == 0
