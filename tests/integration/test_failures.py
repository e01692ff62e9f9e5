"""Given a registry where ECR refuses, throttles or fails part of the work, when the sweep runs, then
the failure is contained (the rest is swept), reported with what failed and why, and counted; and
a run that cannot list the repositories deletes nothing."""

from __future__ import annotations

from typing import Any

from ecr_sweeper.aws.clients import RETRY_ATTEMPTS
from emulator.ecr import Fault, faults
from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import digests, untagged


def test_access_denied_on_one_repository_does_not_stop_the_others(ecr: Any, invoke: Invoke) -> None:
    # Given three repositories with expired digests, the middle one unreadable
    for name in ("first", "locked", "last"):
        create_repository(ecr, name, "1")
        untagged(ecr, name, name, 5)
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="locked", message="no way"))

    # When the sweep runs
    run = invoke()
    faults.reset()

    # Then the other two are swept, and the run fails naming only the locked one
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
    # Given a delete call that is throttled twice
    create_repository(ecr, "busy", "1")
    untagged(ecr, "busy", "x", 5)
    faults.calls.append(Fault("BatchDeleteImage", "ThrottlingException", repository="busy", times=2))

    # When the sweep runs
    run = invoke()

    # Then the retries absorb it
    assert run.error is None
    assert digests(ecr, "busy") == set()
    assert len(retry_sleeps) == 2, "botocore retried each throttled call with a backoff"


def test_throttling_that_outlasts_the_retries_fails_that_repository(
    ecr: Any, invoke: Invoke, retry_sleeps: list[float]
) -> None:
    # Given one repository whose tags can never be read for throttling, and a healthy one
    create_repository(ecr, "hot", "1")
    create_repository(ecr, "cool", "1")
    untagged(ecr, "hot", "x", 5)
    untagged(ecr, "cool", "y", 5)
    faults.calls.append(Fault("ListTagsForResource", "ThrottlingException", repository="hot"))

    # When the sweep runs
    run = invoke()
    faults.reset()

    # Then after every retry the throttled repository fails, and the other one is swept
    assert digests(ecr, "cool") == set()
    assert len(digests(ecr, "hot")) == 1
    assert "hot" in str(run.error) and "ThrottlingException" in str(run.error)
    assert len(retry_sleeps) == RETRY_ATTEMPTS - 1


def test_per_item_failures_are_read_logged_and_counted(ecr: Any, invoke: Invoke) -> None:
    # Given two expired digests, ECR failing the delete of one of them
    create_repository(ecr, "app", "1")
    ok = untagged(ecr, "app", "ok", 5)
    kms = untagged(ecr, "app", "kms", 5)
    faults.delete_items[kms] = ("KmsError", "key disabled")

    # When the sweep runs
    run = invoke()

    # Then only the one ECR deleted is claimed, and the failure is logged with ECR's code and reason
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
    # Given an expired digest that ECR answers ImageNotFound for at delete time
    create_repository(ecr, "app", "1")
    gone = untagged(ecr, "app", "gone", 5)
    faults.delete_items[gone] = ("ImageNotFound", "Requested image not found")

    # When the sweep runs
    run = invoke()

    # Then it is logged as gone, neither deleted nor failed
    assert run.error is None
    assert run.records(action="deleted") == [] and run.records(action="delete_failed") == []
    [record] = run.records(action="gone")
    assert record["digest"] == gone and "ImageNotFound" in record["reason"]
    assert run.metric("ImagesDeleted") == 0 and run.metric("BytesReclaimed") == 0
    assert run.metric("DeleteFailures") == 0


def test_listing_repositories_denied_fails_the_run_and_deletes_nothing(ecr: Any, invoke: Invoke) -> None:
    # Given an expired digest, and DescribeRepositories denied
    create_repository(ecr, "app", "1")
    keep = untagged(ecr, "app", "x", 5)
    faults.calls.append(Fault("DescribeRepositories", "AccessDeniedException"))

    # When the sweep runs
    run = invoke()
    faults.reset()

    # Then the run fails with ECR's error and nothing is deleted
    assert run.error is not None and "AccessDeniedException" in str(run.error)
    assert digests(ecr, "app") == {keep}
