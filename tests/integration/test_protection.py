"""Never delete what is still needed: the image graph, pull times, digests in use, the re-check.

Each section below names the rule it checks, by its title in docs/reference/never-deleted.md ("What
ecr-sweeper will never delete").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.responses import LambdaResponse

from emulator.ecr import Hook, add_tag, faults, manifest_digest, set_image_times
from emulator.identity import SWEEPER_ROLE
from emulator.seed import (
    DOCKER_LIST,
    SPDX_SBOM,
    create_repository,
    image_manifest,
    push,
    push_index,
    push_referrer,
)
from tests.integration.conftest import Invoke
from tests.integration.images import NOW, ago, digests

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def verdicts(run: Any, repository: str | None = None) -> dict[str, tuple[str, str]]:
    """digest -> (action, reason) for every verdict record."""
    return {
        r["digest"]: (r["action"], r["reason"])
        for r in run.records(record_type="verdict")
        if repository is None or r["repository"] == repository
    }


DEBUG = {"POWERTOOLS_LOG_LEVEL": "DEBUG"}


def _before_recheck(action: Any) -> None:
    """Run `action` just before the re-check (DescribeImages by imageIds) is served."""

    def maybe(params: dict[str, Any]) -> None:
        if params.get("imageIds"):
            action()

    faults.hooks.append(Hook("DescribeImages", maybe, times=None))


# --- image indexes --------------------------------------------------------------------------------
# docs/reference/never-deleted.md: "A child of a kept multi-arch image";
# and, below the list, an untagged index is deleted before its children.


def test_a_tagged_multi_arch_image_keeps_its_old_untagged_children(ecr: Any, invoke: Invoke) -> None:
    # Given a tagged index of two untagged children, all pushed 90 days ago, and a retention of 1 day
    create_repository(ecr, "multi", "1")
    amd64 = push(ecr, "multi", "amd64", pushed_at=ago(90))
    arm64 = push(ecr, "multi", "arm64", pushed_at=ago(90))
    index = push_index(ecr, "multi", [amd64, arm64], tag="v1", pushed_at=ago(90))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then nothing is deleted, and both children are kept as children of the index
    assert digests(ecr, "multi") == {amd64, arm64, index}
    seen = verdicts(run)
    assert seen[amd64] == ("kept", f"child of kept index {index}")
    assert seen[arm64] == ("kept", f"child of kept index {index}")
    assert run.metric("ProtectedByIndex") == 2
    assert run.metric("ImagesProtected") == 2
    assert run.metric("ImagesDeleted") == 0


@pytest.mark.parametrize("media_type", [DOCKER_LIST, "application/vnd.oci.image.index.v1+json"])
def test_an_expired_untagged_index_is_deleted_before_its_children(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke, media_type: str
) -> None:
    # Given an expired untagged index of an expired child and a young child
    create_repository(ecr, "multi", "3")
    old_child = push(ecr, "multi", "old", pushed_at=ago(30))
    young_child = push(ecr, "multi", "young", pushed_at=ago(1))
    index = push_index(ecr, "multi", [old_child, young_child], media_type=media_type, pushed_at=ago(30))
    ecr_calls.clear()

    # When the sweep runs
    run = invoke(env=DEBUG)

    # The emulator refuses to delete a child while an index lists it: success proves the order.
    # Then the index is deleted first, then the expired child, each in its own call, with no failure
    assert digests(ecr, "multi") == {young_child}
    deleted = [r["digest"] for r in run.records(action="deleted")]
    assert deleted == [index, old_child]
    assert run.records(action="delete_failed") == []
    assert ecr_calls["BatchDeleteImage"] == 2, "one wave for the index, one for its children"
    assert ecr_calls["BatchGetImage"] == 1
    # And the young child is kept
    assert verdicts(run)[young_child][0] == "kept"


def test_a_child_shared_by_a_kept_index_and_an_expired_one_is_kept(ecr: Any, invoke: Invoke) -> None:
    # Given two expired children, a tagged index that lists one, and an expired untagged index that lists both
    create_repository(ecr, "multi", "3")
    shared = push(ecr, "multi", "shared", pushed_at=ago(40))
    only_old = push(ecr, "multi", "only-old", pushed_at=ago(40))
    kept_index = push_index(ecr, "multi", [shared], tag="stable", salt="kept", pushed_at=ago(40))
    old_index = push_index(ecr, "multi", [shared, only_old], salt="old", pushed_at=ago(40))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the shared child is kept for the tagged index, and the expired index and its other child are deleted, in that
    # order
    assert digests(ecr, "multi") == {shared, kept_index}
    assert verdicts(run)[shared] == ("kept", f"child of kept index {kept_index}")
    assert [r["digest"] for r in run.records(action="deleted")] == [old_index, only_old]


def test_nested_indexes_protect_transitively(ecr: Any, invoke: Invoke) -> None:
    # Given an expired image, listed by an expired untagged index, listed by a tagged index
    create_repository(ecr, "nested", "1")
    leaf = push(ecr, "nested", "leaf", pushed_at=ago(50))
    inner = push_index(ecr, "nested", [leaf], salt="inner", pushed_at=ago(50))
    outer = push_index(ecr, "nested", [inner], tag="release", salt="outer", pushed_at=ago(50))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then all three are kept: each child for the index that lists it
    assert digests(ecr, "nested") == {leaf, inner, outer}
    assert verdicts(run)[inner] == ("kept", f"child of kept index {outer}")
    assert verdicts(run)[leaf] == ("kept", f"child of kept index {inner}")


def test_nested_expired_indexes_are_deleted_outside_in(ecr: Any, invoke: Invoke) -> None:
    # Given an expired image, listed by an expired untagged index, listed by another expired untagged index
    create_repository(ecr, "nested", "1")
    leaf = push(ecr, "nested", "leaf", pushed_at=ago(50))
    inner = push_index(ecr, "nested", [leaf], salt="inner", pushed_at=ago(50))
    outer = push_index(ecr, "nested", [inner], salt="outer", pushed_at=ago(50))

    # When the sweep runs
    run = invoke()

    # Then all three are deleted, the outermost index first and the image last
    assert digests(ecr, "nested") == set()
    assert [r["digest"] for r in run.records(action="deleted")] == [outer, inner, leaf]


def test_an_index_that_keeps_a_child_young_by_pull_protects_it(ecr: Any, invoke: Invoke) -> None:
    # Given an old untagged index, pulled yesterday, of an old child
    # The index is untagged but pulled yesterday (a `docker pull repo@sha256:index`): kept, and so
    # are its children, however old.
    create_repository(ecr, "multi", "7")
    child = push(ecr, "multi", "child", pushed_at=ago(100))
    index = push_index(ecr, "multi", [child], pushed_at=ago(100), last_pulled_at=ago(1))

    # When the sweep runs with a retention of 7 days
    run = invoke(env=DEBUG)

    # Then both are kept: the index as pulled recently, the child as its child
    assert digests(ecr, "multi") == {child, index}
    assert verdicts(run)[index][1].startswith("pulled recently")
    assert verdicts(run)[child] == ("kept", f"child of kept index {index}")


# --- referrers ------------------------------------------------------------------------------------
# docs/reference/never-deleted.md: "A signature, SBOM or attestation of a kept image";
# below the list, a referrer goes with its subject and an orphan expires by its own age; and the
# orphan's subject asked for once more, from "A digest that changed at the last moment".


def test_signature_and_sbom_of_a_tagged_image_are_kept(ecr: Any, invoke: Invoke) -> None:
    # Given a tagged image with a signature and an SBOM, and a signature of the SBOM, all old
    create_repository(ecr, "signed", "1")
    image = push(ecr, "signed", "app", tag="v1", pushed_at=ago(60))
    signature = push_referrer(ecr, "signed", image, pushed_at=ago(60))
    sbom = push_referrer(ecr, "signed", image, artifact_type=SPDX_SBOM, pushed_at=ago(60))
    signature_of_sbom = push_referrer(ecr, "signed", sbom, salt="sig-of-sbom", pushed_at=ago(60))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then all four are kept, each referrer for the image it refers to
    assert digests(ecr, "signed") == {image, signature, sbom, signature_of_sbom}
    assert verdicts(run)[signature] == ("kept", f"referrer of kept image {image}")
    assert verdicts(run)[sbom] == ("kept", f"referrer of kept image {image}")
    assert verdicts(run)[signature_of_sbom] == ("kept", f"referrer of kept image {sbom}")
    assert run.metric("ProtectedByReferrer") == 3


def test_a_referrer_of_a_deleted_image_is_deleted_with_it_first(ecr: Any, invoke: Invoke) -> None:
    # Given an expired image, and a young signature of it
    create_repository(ecr, "signed", "7")
    old = push(ecr, "signed", "old", pushed_at=ago(30))
    young_signature = push_referrer(ecr, "signed", old, pushed_at=ago(1))

    # When the sweep runs
    run = invoke()

    # Then both are deleted, the signature first, as the referrer of a deleted image
    assert digests(ecr, "signed") == set()
    assert [r["digest"] for r in run.records(action="deleted")] == [young_signature, old]
    assert verdicts(run)[young_signature][1] == f"referrer of deleted image {old}"


def test_an_orphan_referrer_expires_by_its_own_age(ecr: Any, invoke: Invoke) -> None:
    # Given two referrers of a subject that is not in the repository, one old and one young
    create_repository(ecr, "signed", "7")
    gone_subject = "sha256:" + "9" * 64
    old_orphan = push_referrer(ecr, "signed", gone_subject, salt="old", pushed_at=ago(30))
    young_orphan = push_referrer(ecr, "signed", gone_subject, salt="young", pushed_at=ago(2))

    # When the sweep runs with a retention of 7 days
    run = invoke()

    # Then only the old one is deleted
    assert digests(ecr, "signed") == {young_orphan}
    assert [r["digest"] for r in run.records(action="deleted")] == [old_orphan]


def test_an_orphan_referrer_whose_subject_turns_out_to_exist_is_kept(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke
) -> None:
    # Given a referrer whose subject is missing from the listing (a stale listing, or a subject
    # pushed meanwhile)
    create_repository(ecr, "signed", "7")
    subject_manifest = image_manifest("late-subject")
    subject = manifest_digest(subject_manifest)
    orphan = push_referrer(ecr, "signed", subject, pushed_at=ago(30))
    asked: list[set[str]] = []

    def push_subject(params: dict[str, Any]) -> None:
        if params.get("imageIds"):
            asked.append({i["imageDigest"] for i in params["imageIds"]})
            if len(asked) == 1:
                ecr.put_image(repositoryName="signed", imageManifest=subject_manifest, imageDigest=subject)

    faults.hooks.append(Hook("DescribeImages", push_subject, times=None))
    ecr_calls.clear()

    # When the sweep is about to delete it as an orphan
    run = invoke()
    counted = dict(ecr_calls)

    # Then the subject is asked for in the same re-check call, found, and the referrer is kept
    assert asked == [{orphan, subject}]
    assert counted["DescribeImages"] == 2, "the listing and one re-check call"
    assert digests(ecr, "signed") == {orphan, subject}
    [kept] = run.records(action="kept")
    assert kept["digest"] == orphan
    assert kept["reason"] == f"re-check: its subject {subject} exists, so it is not an orphan"
    assert kept["level"] == "INFO"
    assert run.metric("ProtectedByReferrer") == 1 and run.metric("ImagesDeleted") == 0


def test_an_orphan_referrer_whose_subject_is_really_gone_is_deleted_after_asking(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke
) -> None:
    # Given a referrer of a subject that is not in the repository, and an expired image
    create_repository(ecr, "signed", "7")
    gone_subject = "sha256:" + "9" * 64
    orphan = push_referrer(ecr, "signed", gone_subject, pushed_at=ago(30))
    other = push(ecr, "signed", "other", pushed_at=ago(30))
    ecr_calls.clear()

    # When the sweep runs
    run = invoke()
    counted = dict(ecr_calls)

    # Then both are deleted, after the re-check asked for the subject too and found it gone
    assert digests(ecr, "signed") == set()
    assert {r["digest"] for r in run.records(action="deleted")} == {orphan, other}
    # The listing, the combined re-check (refused: the subject is missing), the batch alone, the subject alone.
    assert counted["DescribeImages"] == 4


# --- archived images ------------------------------------------------------------------------------
# docs/reference/never-deleted.md: "An archived image".


@pytest.mark.parametrize("restoring", [False, True])
def test_an_archived_index_keeps_its_children_without_a_single_delete_failure(
    ecr: Any, invoke: Invoke, restoring: bool
) -> None:
    # Given a release index that was archived (or is being restored), over old untagged children
    create_repository(ecr, "multi", "1")
    amd64 = push(ecr, "multi", "amd64", pushed_at=ago(200))
    arm64 = push(ecr, "multi", "arm64", pushed_at=ago(200))
    index = push_index(ecr, "multi", [amd64, arm64], tag="v1", pushed_at=ago(200))
    loose = push(ecr, "multi", "archived-loose", pushed_at=ago(200))
    for digest in (index, loose):
        ecr.update_image_storage_class(
            repositoryName="multi", imageId={"imageDigest": digest}, targetStorageClass="ARCHIVE"
        )
    if restoring:
        ecr.update_image_storage_class(
            repositoryName="multi", imageId={"imageDigest": index}, targetStorageClass="STANDARD"
        )
    status = "ACTIVATING" if restoring else "ARCHIVED"

    # When a dry run and then a real run sweep
    dry = invoke(event={"dryRun": True})
    run = invoke(env=DEBUG)

    # Then nothing archived is judged, ECR's refusals are protection, and no alarm fires
    everything = {
        d["imageDigest"]
        for d in ecr.describe_images(repositoryName="multi", filter={"imageStatus": "ANY"})["imageDetails"]
    }
    assert everything == {amd64, arm64, index, loose}
    assert run.error is None
    assert {r["digest"] for r in run.records(record_type="verdict")} == {amd64, arm64}
    for child in (amd64, arm64):
        action, reason = verdicts(run)[child]
        assert action == "kept" and reason.startswith("kept by ECR: ImageReferencedByManifestList")
    assert run.metric("DeleteFailures") == 0
    assert run.metric("ProtectedByIndex") == 2
    assert run.metric("ArchivedImages") == 2
    assert run.result["archivedImages"] == 2  # type: ignore[index]
    # The dry run cannot read an archived manifest either, and says so, for each deletion it announces.
    [notice] = dry.records(record_type="archived_indexes")
    assert notice["digests"] == [index] and "ECR refuses to delete" in notice["message"]
    announced = {r["digest"]: r for r in dry.records(action="would_delete")}
    assert set(announced) == {amd64, arm64}
    assert all(r["caveat"].startswith(f"archived index {index} may list it") for r in announced.values())
    assert status in {
        d["imageStatus"]
        for d in ecr.describe_images(repositoryName="multi", filter={"imageStatus": status})["imageDetails"]
    }


def test_the_signature_of_a_child_that_ecr_keeps_for_an_archived_index_is_kept_too(ecr: Any, invoke: Invoke) -> None:
    # Given an old child of an archived index, signed: the sweep cannot read the index, so it plans
    # to delete both; ECR refuses the child, and its signature must not be lost.
    create_repository(ecr, "signed", "1")
    child = push(ecr, "signed", "child", pushed_at=ago(200))
    signature = push_referrer(ecr, "signed", child, pushed_at=ago(200))
    index = push_index(ecr, "signed", [child], tag="v1", pushed_at=ago(200))
    ecr.update_image_storage_class(
        repositoryName="signed", imageId={"imageDigest": index}, targetStorageClass="ARCHIVE"
    )

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the child and its signature are left: ECR keeps the child, and the signature is kept because its subject was
    # not deleted
    assert {child, signature} <= digests(ecr, "signed")
    assert verdicts(run)[signature] == ("kept", f"referrer of kept image {child}: its subject was not deleted")
    assert verdicts(run)[child][1].startswith("kept by ECR: ImageReferencedByManifestList")
    # And no failure is counted, and nothing is deleted
    assert run.metric("DeleteFailures") == 0 and run.metric("ImagesDeleted") == 0


def test_an_archived_subject_keeps_its_referrers(ecr: Any, invoke: Invoke) -> None:
    # Given an archived old image, and an old signature of it
    create_repository(ecr, "signed", "1")
    image = push(ecr, "signed", "app", pushed_at=ago(200))
    signature = push_referrer(ecr, "signed", image, pushed_at=ago(200))
    ecr.update_image_storage_class(
        repositoryName="signed", imageId={"imageDigest": image}, targetStorageClass="ARCHIVE"
    )

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the signature is kept for its archived subject, and is the only digest judged
    assert verdicts(run) == {signature: ("kept", f"referrer of kept image {image}")}
    assert run.metric("ProtectedByReferrer") == 1


# --- pull time ------------------------------------------------------------------------------------
# docs/reference/never-deleted.md: "A digest pulled within its retention";
# and docs/deploy/pull-time.md, "Pull time and the sweeper's own reads".


def test_a_recently_pulled_old_digest_is_kept(ecr: Any, invoke: Invoke) -> None:
    # Given an image pushed 200 days ago and last pulled 3 days ago, and a retention of 7 days
    create_repository(ecr, "batch", "7")
    pulled = push(ecr, "batch", "pulled", pushed_at=ago(200), last_pulled_at=ago(3))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then it is kept as pulled recently
    assert digests(ecr, "batch") == {pulled}
    assert verdicts(run)[pulled] == ("kept", "pulled recently: last pulled 3d ago, retention 7d")
    assert run.metric("ProtectedByPull") == 1


@pytest.mark.parametrize("excluded", [True, False])
def test_the_sweepers_own_manifest_reads_do_not_refresh_pull_time_once_excluded(
    ecr: Any, invoke: Invoke, excluded: bool
) -> None:
    # Given a young index of a young child, and the sweeper's role excluded from pull-time updates or not
    create_repository(ecr, "multi", "7")
    child = push(ecr, "multi", "child", pushed_at=ago(3))
    index = push_index(ecr, "multi", [child], pushed_at=ago(3))
    [role_arn] = ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]
    assert role_arn.endswith(f":role/{SWEEPER_ROLE}")
    if not excluded:
        ecr.deregister_pull_time_update_exclusion(principalArn=role_arn)

    # When the sweep runs and reads the index's manifest
    invoke()

    # Then the read records no pull time when the role is excluded, and records one when it is not
    [detail] = ecr.describe_images(repositoryName="multi", imageIds=[{"imageDigest": index}])["imageDetails"]
    if excluded:
        assert "lastRecordedPullTime" not in detail
    else:
        # What the stack's exclusion prevents: each nightly read would keep the index young forever.
        assert detail["lastRecordedPullTime"] > NOW - timedelta(minutes=5)


def test_without_the_exclusion_the_sweeps_own_read_is_not_taken_for_a_pull(ecr: Any, invoke: Invoke) -> None:
    # Given the sweeper's role not excluded from pull-time updates, and an expired index of an expired child
    # The role is not excluded (a missing exclusion, another role): reading the index's manifest
    # records a pull. The re-check knows that read was its own and deletes the index all the same.
    [role] = ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]
    ecr.deregister_pull_time_update_exclusion(principalArn=role)
    create_repository(ecr, "multi", "3")
    child = push(ecr, "multi", "child", pushed_at=ago(30))
    index = push_index(ecr, "multi", [child], pushed_at=ago(30))

    # When the sweep runs, reading the index's manifest
    run = invoke()

    # Then both are deleted, the index first: the sweep's own read is not taken for a pull
    assert digests(ecr, "multi") == set()
    assert [r["digest"] for r in run.records(action="deleted")] == [index, child]


def test_a_pull_of_an_index_by_someone_else_after_the_plan_still_keeps_it(ecr: Any, invoke: Invoke) -> None:
    # Given an expired index of an expired child
    create_repository(ecr, "multi", "3")
    child = push(ecr, "multi", "child", pushed_at=ago(30))
    index = push_index(ecr, "multi", [child], pushed_at=ago(30))
    # And someone else pulls the index after the plan, just before the re-check
    # Well after the sweep's own read: a `docker pull` of the index by digest.
    _before_recheck(
        lambda: set_image_times("multi", index, last_pulled_at=datetime.now(timezone.utc) + timedelta(minutes=1))
    )

    # When the sweep runs
    run = invoke()

    # Then both are kept, and the index is kept on the re-check, as pulled
    assert digests(ecr, "multi") == {index, child}
    [dropped] = [r for r in run.records(action="kept") if r["digest"] == index]
    assert dropped["reason"].startswith("re-check: pulled at ")


# --- in use by Lambda and ECS ---------------------------------------------------------------------
# docs/reference/never-deleted.md: "A digest that a workload runs, or will pull at its
# next scale-out".


def _lambda_role() -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]  # type: ignore[no-any-return]


def test_lambda_functions_on_a_digest_and_on_a_tag_keep_what_they_run(ecr: Any, invoke: Invoke) -> None:
    # Given three expired digests: one a function runs by digest, one a published function runs from a tag that has
    # since moved, and one nothing runs
    create_repository(ecr, "fn", "1")
    by_digest = push(ecr, "fn", "pinned", pushed_at=ago(30))
    deployed = push(ecr, "fn", "deployed", tag="latest", pushed_at=ago(30))
    unused = push(ecr, "fn", "unused", pushed_at=ago(30))
    lam = boto3.client("lambda", region_name="us-east-1")
    role = _lambda_role()
    pinned_fn = lam.create_function(
        FunctionName="pinned", Role=role, PackageType="Image", Code={"ImageUri": f"{REGISTRY}/fn@{by_digest}"}
    )["FunctionArn"]
    tagged_fn = lam.create_function(
        FunctionName="tagged", Role=role, PackageType="Image", Code={"ImageUri": f"{REGISTRY}/fn:latest"}, Publish=True
    )["FunctionArn"]
    # The tag moves on; version 1 and $LATEST still run the digest the tag had when they were set.
    push(ecr, "fn", "next", tag="latest", pushed_at=ago(0.1))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then both digests the functions run are kept as in use by them, and the third is deleted
    assert digests(ecr, "fn") - {unused} == digests(ecr, "fn") and by_digest in digests(ecr, "fn")
    assert deployed in digests(ecr, "fn")
    assert unused not in digests(ecr, "fn")
    action, reason = verdicts(run)[by_digest]
    assert action == "kept" and reason == f"in use by lambda {pinned_fn}:$LATEST"
    action, reason = verdicts(run)[deployed]
    assert action == "kept" and reason.startswith(f"in use by lambda {tagged_fn}")
    assert run.metric("ProtectedByLambda") == 2


def test_ecs_task_definitions_by_digest_and_running_tasks_keep_what_they_run(ecr: Any, invoke: Invoke) -> None:
    # Given three expired digests: one a task definition names, one a running task started from through tag prod,
    # which has since moved, and one nothing names
    create_repository(ecr, "svc", "1")
    in_definition = push(ecr, "svc", "defined", pushed_at=ago(30))
    running = push(ecr, "svc", "running", tag="prod", pushed_at=ago(30))
    unused = push(ecr, "svc", "unused", pushed_at=ago(30))
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="main")
    definition = ecs.register_task_definition(
        family="batch",
        containerDefinitions=[{"name": "job", "image": f"{REGISTRY}/svc@{in_definition}", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    web = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": f"{REGISTRY}/svc:prod", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(
        cluster="main",
        taskDefinition=web,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    )["tasks"][0]["taskArn"]
    # The tag moves on; the running task still runs the digest it started from.
    push(ecr, "svc", "next", tag="prod", pushed_at=ago(0.1))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the first two are kept, as in use by the task definition and by the task, and the third is deleted
    assert {in_definition, running} <= digests(ecr, "svc")
    assert unused not in digests(ecr, "svc")
    assert verdicts(run)[in_definition] == ("kept", f"in use by ecs {definition}")
    assert verdicts(run)[running] == ("kept", f"in use by ecs {task}")
    assert run.metric("ProtectedByEcs") == 2


# --- a failed in-use scan deletes nothing ---------------------------------------------------------
# docs/reference/never-deleted.md: "Anything at all when a source of 'in use' cannot be
# read completely"; and docs/reference/context-keys.md, "What `protectInUse=false` costs".


def test_access_denied_on_list_functions_deletes_nothing_and_fails_the_run(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a repository where everything would expire, with one digest
    create_repository(ecr, "app", "0")
    keep = push(ecr, "app", "x", pushed_at=ago(30))

    # And a Lambda that denies ListFunctions
    def denied(self: LambdaResponse) -> Any:
        raise LambdaClientError("AccessDeniedException", "not authorized to perform: lambda:ListFunctions")

    monkeypatch.setattr(LambdaResponse, "list_functions", denied)
    ecr_calls.clear()

    # When the sweep runs
    run = invoke()

    # Then nothing is deleted and the repositories are not even listed
    assert digests(ecr, "app") == {keep}
    assert ecr_calls.get("BatchDeleteImage", 0) == 0 and ecr_calls.get("DescribeRepositories", 0) == 0
    # And the run fails, saying the in-use scan failed and why, and that nothing was deleted
    assert run.error is not None and "in-use scan failed" in str(run.error)
    assert "AccessDeniedException" in str(run.error)
    [record] = run.records(record_type="in_use_scan_failed")
    assert record["level"] == "ERROR" and "nothing deleted" in record["message"]
    assert run.metric("InUseScanFailures") == 1


def test_protect_in_use_off_skips_the_scan_and_says_so(ecr: Any, invoke: Invoke) -> None:
    # Given an expired digest that a function runs by digest
    create_repository(ecr, "fn", "1")
    pinned = push(ecr, "fn", "pinned", pushed_at=ago(30))
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName="pinned", Role=_lambda_role(), PackageType="Image", Code={"ImageUri": f"{REGISTRY}/fn@{pinned}"}
    )

    # When the sweep runs with PROTECT_IN_USE false
    run = invoke(env={"PROTECT_IN_USE": "false"})

    # Then the digest is deleted, and the run warns that it did not scan what is in use
    assert digests(ecr, "fn") == set()
    [warning] = run.records(record_type="in_use_scan")
    assert warning["level"] == "WARNING" and "PROTECT_IN_USE=false" in warning["message"]
    assert run.result["inUse"] == "off"  # type: ignore[index]


# --- the last-moment re-check ---------------------------------------------------------------------
# docs/reference/never-deleted.md: "A digest that changed at the last moment".


def test_a_digest_tagged_between_plan_and_delete_is_dropped(ecr: Any, invoke: Invoke) -> None:
    # Given two expired untagged digests
    create_repository(ecr, "race", "1")
    racing = push(ecr, "race", "racing", pushed_at=ago(30))
    other = push(ecr, "race", "other", pushed_at=ago(30))
    # And one of them is tagged hotfix just before the re-check
    _before_recheck(lambda: add_tag("race", racing, "hotfix"))

    # When the sweep runs
    run = invoke()

    # Then the other is deleted, and the tagged one is kept on the re-check, saying why
    assert digests(ecr, "race") == {racing}
    assert [r["digest"] for r in run.records(action="deleted")] == [other]
    [dropped] = [r for r in run.records(action="kept") if r["digest"] == racing]
    assert dropped["reason"] == "re-check: tagged hotfix since the plan"
    assert dropped["level"] == "INFO"


def test_a_digest_pulled_between_plan_and_delete_is_dropped(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest
    create_repository(ecr, "race", "1")
    racing = push(ecr, "race", "racing", pushed_at=ago(30))
    # And it is pulled just before the re-check
    _before_recheck(lambda: set_image_times("race", racing, last_pulled_at=NOW))

    # When the sweep runs
    run = invoke()

    # Then it is kept on the re-check, as pulled, and nothing is deleted
    assert digests(ecr, "race") == {racing}
    [dropped] = run.records(action="kept")
    assert dropped["reason"].startswith("re-check: pulled at ")
    assert run.metric("ProtectedByPull") == 1 and run.metric("ImagesDeleted") == 0


def test_a_digest_that_disappears_between_plan_and_delete_is_not_claimed(ecr: Any, invoke: Invoke) -> None:
    # Given two expired untagged digests
    create_repository(ecr, "race", "1")
    racing = push(ecr, "race", "racing", pushed_at=ago(30))
    other = push(ecr, "race", "other", pushed_at=ago(30))
    # And one of them is deleted by someone else just before the re-check
    _before_recheck(lambda: ecr.batch_delete_image(repositoryName="race", imageIds=[{"imageDigest": racing}]))

    # When the sweep runs
    run = invoke()

    # Then only the other is claimed as deleted, and the one that was gone is reported as gone, not as a failure
    assert [r["digest"] for r in run.records(action="deleted")] == [other]
    [gone] = run.records(action="gone")
    assert gone["digest"] == racing and gone["reason"].startswith("re-check: no longer in the repository")
    assert run.metric("ImagesDeleted") == 1 and run.metric("DeleteFailures") == 0


def test_an_index_pushed_after_the_plan_makes_its_child_kept_on_re_plan(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest
    create_repository(ecr, "race", "1")
    child = push(ecr, "race", "child", pushed_at=ago(30))
    # And a tagged index of it pushed just before the first delete call
    pushed: list[str] = []

    def push_index_now(params: dict[str, Any]) -> None:
        pushed.append(push_index(ecr, "race", [child], tag="new"))

    # Just before the first delete call: after the plan and after the re-check.
    faults.hooks.append(Hook("BatchDeleteImage", push_index_now, times=1))

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the re-plan keeps the digest as the child of the new index, and nothing is deleted or failed
    assert digests(ecr, "race") == {child, pushed[0]}
    assert run.records(action="deleted") == [] and run.records(action="delete_failed") == []
    [kept] = [r for r in run.records(action="kept") if r["digest"] == child]
    assert kept["reason"] == f"re-plan: child of kept index {pushed[0]}"


def test_a_child_still_referenced_after_the_re_plan_is_reported_never_forced(ecr: Any, invoke: Invoke) -> None:
    # Given an expired index of an expired child
    create_repository(ecr, "stuck", "1")
    child = push(ecr, "stuck", "child", pushed_at=ago(30))
    index = push_index(ecr, "stuck", [child], pushed_at=ago(30))
    # And ECR fails to delete the index with a KMS error
    faults.delete_items[index] = ("KmsError", "key disabled")

    # When the sweep runs
    run = invoke()

    # Then both are left, the index failed on its own error, and the child is reported as still referenced, not forced
    assert digests(ecr, "stuck") == {child, index}
    failed = {r["digest"]: r["failure_code"] for r in run.records(action="delete_failed")}
    assert failed == {index: "KmsError", child: "ImageReferencedByManifestList"}
    assert run.metric("DeleteFailures") == 2


# --- a verdict for every untagged digest, and a dry run that tells the truth ----------------------
# docs/reference/never-deleted.md: "Anything in a dry run"; and, below the list, every
# untagged digest gets exactly one verdict in the logs.


def _rich_registry(ecr: Any) -> None:
    create_repository(ecr, "mixed", "5")
    old_a = push(ecr, "mixed", "old-a", pushed_at=ago(40))
    old_b = push(ecr, "mixed", "old-b", pushed_at=ago(40))
    push_index(ecr, "mixed", [old_a], tag="v1", salt="tagged", pushed_at=ago(40))
    doomed_index = push_index(ecr, "mixed", [old_b], salt="doomed", pushed_at=ago(40))
    push_referrer(ecr, "mixed", doomed_index, pushed_at=ago(1))
    push(ecr, "mixed", "young", pushed_at=ago(1))
    push(ecr, "mixed", "pulled", pushed_at=ago(40), last_pulled_at=ago(1))
    push(ecr, "mixed", "stale", pushed_at=ago(40), last_pulled_at=ago(20))


def test_every_untagged_digest_gets_exactly_one_verdict(ecr: Any, invoke: Invoke) -> None:
    # Given a repository of kept and expired digests of every kind: indexes, children, referrers, young, pulled and
    # stale
    _rich_registry(ecr)
    untagged = {
        d["imageDigest"]
        for d in ecr.describe_images(repositoryName="mixed", filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    }

    # When a dry run sweeps it
    run = invoke(event={"dryRun": True}, env=DEBUG)

    # Then every untagged digest has one verdict, with its repository, action, reason, push time and size
    records = run.records(record_type="verdict")
    assert sorted(r["digest"] for r in records) == sorted(untagged)
    for record in records:
        assert {"repository", "digest", "action", "reason", "pushed_at", "size_bytes"} <= set(record)
    # And the kept ones are DEBUG records, counted once each, by the family that kept them
    kept = [r for r in records if r["action"] == "kept"]
    assert all(r["level"] == "DEBUG" for r in kept)
    assert run.metric("ImagesProtected") == len(kept)
    families = ("Age", "Pull", "Index", "Referrer", "Lambda", "Ecs")
    assert sum(run.metric(f"ProtectedBy{f}") for f in families) == len(kept)


def test_a_dry_run_reports_exactly_what_the_real_run_then_deletes(ecr: Any, invoke: Invoke) -> None:
    # Given a repository of kept and expired digests of every kind
    _rich_registry(ecr)
    before = digests(ecr, "mixed")

    # When a dry run sweeps it, then nothing is deleted
    dry = invoke(event={"dryRun": True})
    assert digests(ecr, "mixed") == before
    # When a real run follows
    real = invoke()

    # Then it deletes exactly what the dry run announced, in the same order, with the same counts and bytes
    announced = [r["digest"] for r in dry.records(action="would_delete")]
    deleted = [r["digest"] for r in real.records(action="deleted")]
    assert announced == deleted, "same digests, in the same order"
    assert before - digests(ecr, "mixed") == set(deleted)
    assert dry.metric("ImagesDeleted") == real.metric("ImagesDeleted") == len(deleted)
    assert dry.metric("BytesReclaimed") == real.metric("BytesReclaimed")
