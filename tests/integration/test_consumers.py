"""Central registries: what other accounts run from this registry is in use too. The in-use scan
assumes the reader role in each consumer account (listed, or every ACTIVE account of the AWS
Organization) and reads every source there; an account that cannot be read stops deletion in the
region, unless the operator ignores it. Through the real lambda_handler, against the corrected
emulator, whose sts:AssumeRole refuses a role that does not exist or does not trust the caller."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.core.exceptions import JsonRESTError

from emulator.identity import OWN, OWN_ACCOUNT, SWEEPER_ROLE, account_session, trust_policy
from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.images import ago, digests

REGISTRY = f"{OWN_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
SWEEPER_ROLE_ARN = f"arn:aws:iam::{OWN_ACCOUNT}:role/{SWEEPER_ROLE}"
CONSUMER = "210987654321"
OTHER = "310987654321"
READER = "ecr-sweeper-reader"
DEBUG = {"POWERTOOLS_LOG_LEVEL": "DEBUG"}


def verdicts(run: Any) -> dict[str, tuple[str, str]]:
    return {r["digest"]: (r["action"], r["reason"]) for r in run.records(record_type="verdict")}


def reader_role(account: str, trusted: str = SWEEPER_ROLE_ARN) -> None:
    """What the EcrSweeperReader stack creates in a consumer account: the reader role, which the
    sweeper's role may assume (the read permissions are not evaluated by the emulator)."""
    account_session(account).client("iam").create_role(RoleName=READER, AssumeRolePolicyDocument=trust_policy(trusted))


def task_definition(account: str, family: str, image: str) -> str:
    """An ACTIVE ECS task definition in `account` that names `image`; returns its ARN."""
    definition = (
        account_session(account)
        .client("ecs")
        .register_task_definition(family=family, containerDefinitions=[{"name": "c", "image": image, "memory": 128}])
    )
    return str(definition["taskDefinition"]["taskDefinitionArn"])


def test_a_consumer_accounts_task_definition_protects_the_digest_it_names_and_the_reason_names_the_account(
    ecr: Any, invoke: Invoke
) -> None:
    # Given a central registry with two expired untagged digests, and a consumer account whose ECS
    # task definition runs one of them from this registry, with the reader role deployed there
    create_repository(ecr, "shared/web", "1")
    pulled = push(ecr, "shared/web", "pulled", pushed_at=ago(30))
    unused = push(ecr, "shared/web", "unused", pushed_at=ago(30))
    reader_role(CONSUMER)
    definition = task_definition(CONSUMER, "web", f"{REGISTRY}/shared/web@{pulled}")
    assert f":{CONSUMER}:task-definition/" in definition

    # When the sweeper runs with that account as a consumer
    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMER, **DEBUG})

    # Then the digest the consumer runs is kept, its reason names the account, and the other goes
    assert run.error is None
    assert digests(ecr, "shared/web") == {pulled}, unused
    assert verdicts(run)[pulled] == ("kept", f"in use by ecs {CONSUMER} {definition}")
    assert run.metric("ProtectedByEcs") == 1
    assert run.metric("ConsumerAccountsScanned") == 1
    [scanned] = run.records(record_type="in_use_scan")
    assert scanned["consumer_accounts_scanned"] == 1 and scanned["consumer_accounts"] == [CONSUMER]
    assert run.result is not None and run.result["consumerAccountsScanned"] == 1


def test_the_registry_accounts_own_reasons_stay_as_they_were(ecr: Any, invoke: Invoke) -> None:
    # Given a digest the registry account itself runs, and a consumer account that runs nothing
    create_repository(ecr, "app", "1")
    own = push(ecr, "app", "own", pushed_at=ago(30))
    definition = boto3.client("ecs", region_name="us-east-1").register_task_definition(
        family="own", containerDefinitions=[{"name": "c", "image": f"{REGISTRY}/app@{own}", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    reader_role(CONSUMER)

    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMER, **DEBUG})

    # Then the reason names no account: the workload is the registry account's own
    assert verdicts(run)[own] == ("kept", f"in use by ecs {definition}")


def _deny_ecs_list_clusters_in(account: str) -> Any:
    from moto.ecs.responses import EC2ContainerServiceResponse

    original = EC2ContainerServiceResponse.list_clusters

    def list_clusters(self: Any) -> Any:
        if self.current_account == account:
            raise JsonRESTError("AccessDeniedException", "not authorized to perform: ecs:ListClusters")
        return original(self)

    return list_clusters


@pytest.mark.parametrize("problem", ["no reader role", "a role that does not trust the sweeper", "ecs denied"])
def test_a_consumer_account_that_cannot_be_read_deletes_nothing_in_the_region_and_names_the_account(
    ecr: Any, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    # Given an expired digest, and a consumer account the sweeper cannot read: no reader role there
    # (sts:AssumeRole answers AccessDenied for a role that does not exist, IAM user guide,
    # "Troubleshoot IAM roles"), a role whose trust policy names someone else (a role trust policy
    # decides who may assume it, IAM user guide, "Roles terms and concepts": trust policy), or a
    # reader role that ECS denies
    create_repository(ecr, "app", "0")
    keep = push(ecr, "app", "x", pushed_at=ago(30))
    if problem == "a role that does not trust the sweeper":
        reader_role(CONSUMER, trusted=f"arn:aws:iam::{OWN_ACCOUNT}:role/someone-else")
    elif problem == "ecs denied":
        reader_role(CONSUMER)
        from moto.ecs.responses import EC2ContainerServiceResponse

        monkeypatch.setattr(EC2ContainerServiceResponse, "list_clusters", _deny_ecs_list_clusters_in(CONSUMER))

    # When the sweeper runs with it as a consumer
    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMER})

    # Then nothing is deleted, and the failure names the account, the call, the cause and the fix
    assert digests(ecr, "app") == {keep}
    assert run.error is not None and f"account {CONSUMER}" in str(run.error)
    [failed] = run.records(record_type="in_use_scan_failed")
    if problem == "ecs denied":
        assert failed["source"] == f"account {CONSUMER} ecs ListClusters"
        assert failed["cause"].startswith("AccessDeniedException")
        assert f"allow ecs:ListClusters to arn:aws:iam::{CONSUMER}:role/{READER}" in failed["fix"]
    else:
        assert failed["source"] == f"account {CONSUMER} sts AssumeRole"
        assert failed["cause"].startswith("AccessDenied")
        assert f"deploy the EcrSweeperReader stack in account {CONSUMER}" in failed["fix"]
    assert f"consumerAccountsIgnored=['{CONSUMER}']" in failed["fix"]
    assert run.metric("InUseScanFailures") == 1
    assert run.metric("ConsumerAccountsScanned") == 0


def test_an_ignored_consumer_account_is_not_read_and_every_run_warns_about_each_ignored_account(
    ecr: Any, invoke: Invoke
) -> None:
    # Given a consumer account that runs a digest of this registry, listed both as a consumer and as
    # ignored, and a second ignored account that is not a consumer at all
    create_repository(ecr, "app", "1")
    theirs = push(ecr, "app", "theirs", pushed_at=ago(30))
    reader_role(CONSUMER)
    task_definition(CONSUMER, "web", f"{REGISTRY}/app@{theirs}")

    # When the sweeper runs
    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMER, "CONSUMER_ACCOUNTS_IGNORED": f"{OTHER},{CONSUMER}"})

    # Then the account was not read: what it runs is not protected (the operator's choice), and the
    # run warns about each ignored account
    assert run.error is None
    assert digests(ecr, "app") == set()
    warnings = run.records(record_type="consumer_account_ignored")
    assert sorted(w["account"] for w in warnings) == [CONSUMER, OTHER]
    assert {w["level"] for w in warnings} == {"WARNING"}
    assert run.metric("ConsumerAccountsScanned") == 0


def test_organization_reads_every_active_account_but_not_suspended_ones_nor_its_own(ecr: Any, invoke: Invoke) -> None:
    # Given the registry account manages an organization of two active member accounts, each running
    # a digest of this registry, and a closed (SUSPENDED) one; no account but the two active members
    # has a reader role, so reading any other would fail closed
    organizations = boto3.client("organizations", **OWN)
    organizations.create_organization(FeatureSet="ALL")
    members = [
        organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        for name in ("team-a", "team-b", "closed")
    ]
    active, closed = sorted(members[:2]), members[2]
    organizations.close_account(AccountId=closed)
    create_repository(ecr, "app", "1")
    used = {}
    for account in active:
        reader_role(account)
        used[account] = push(ecr, "app", f"used-by-{account}", pushed_at=ago(30))
        task_definition(account, "web", f"{REGISTRY}/app@{used[account]}")
    unused = push(ecr, "app", "unused", pushed_at=ago(30))

    # When the sweeper runs with consumerAccounts=organization
    run = invoke(env={"CONSUMER_ACCOUNTS": "organization", **DEBUG})

    # Then exactly the active members were read: each one's digest is kept, naming it
    assert run.error is None, run.error
    assert digests(ecr, "app") == set(used.values()), unused
    for account, digest in used.items():
        action, reason = verdicts(run)[digest]
        assert action == "kept" and reason.startswith(f"in use by ecs {account} arn:aws:ecs:us-east-1:{account}:")
    [scanned] = run.records(record_type="in_use_scan")
    assert scanned["consumer_accounts"] == active
    assert run.metric("ConsumerAccountsScanned") == 2


def test_each_swept_region_reads_each_consumer_account(ecr: Any, invoke: Invoke) -> None:
    # Given a consumer account with the reader role, and two swept regions
    reader_role(CONSUMER)
    for region in ("us-east-1", "eu-west-1"):
        create_repository(boto3.client("ecr", **{**OWN, "region_name": region}), "app", "1")

    # When the sweeper runs
    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMER, "REGIONS": "us-east-1,eu-west-1"})

    # Then each region's scan read the account: the metric and the summary count both scans
    assert run.error is None
    assert [r["consumer_accounts"] for r in run.records(record_type="in_use_scan")] == [[CONSUMER], [CONSUMER]]
    assert run.metric("ConsumerAccountsScanned") == 2
    assert run.result is not None and run.result["consumerAccountsScanned"] == 2
    assert [r["consumerAccountsScanned"] for r in run.result["regions"]] == [1, 1]


def test_a_sweeper_outside_an_organizations_management_fails_closed_under_organization(
    ecr: Any, invoke: Invoke
) -> None:
    # Given no organization at all (ListAccounts answers only in the management account or a delegated
    # administrator account: Organizations API reference, ListAccounts)
    create_repository(ecr, "app", "0")
    keep = push(ecr, "app", "x", pushed_at=ago(30))

    run = invoke(env={"CONSUMER_ACCOUNTS": "organization"})

    # Then nothing is deleted, and the fix says where the sweeper must run, or to list the accounts
    assert digests(ecr, "app") == {keep}
    [failed] = run.records(record_type="in_use_scan_failed")
    assert failed["source"] == "organizations ListAccounts"
    assert "management account or in a delegated administrator account" in failed["fix"]
    assert "consumerAccounts" in failed["fix"]


CACHE_BUCKET = "ecr-sweeper-in-use-cache"


def _consumer_key(account: str) -> str:
    return f"in-use-cache/{account}/us-east-1.json"


@pytest.fixture
def cache(ecr: Any) -> Any:
    """The in-use cache's bucket, empty; its S3 client."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=CACHE_BUCKET)
    return s3


def cached(s3: Any, account: str) -> dict[str, Any]:
    return dict(json.loads(s3.get_object(Bucket=CACHE_BUCKET, Key=_consumer_key(account))["Body"].read()))


def test_a_consumer_accounts_revisions_are_described_once_then_answered_from_its_own_cache_object(
    ecr: Any, cache: Any, invoke: Invoke, calls: Any
) -> None:
    # Given a consumer account with two ACTIVE revisions, each pinning an old untagged digest of the
    # registry, and the in-use cache on (the registry account itself runs nothing)
    create_repository(ecr, "app", "1")
    pinned = {family: push(ecr, "app", family, pushed_at=ago(30)) for family in "ab"}
    reader_role(CONSUMER)
    revisions = {family: task_definition(CONSUMER, family, f"{REGISTRY}/app@{pinned[family]}") for family in "ab"}
    env = {"CONSUMER_ACCOUNTS": CONSUMER, "IN_USE_CACHE_BUCKET": CACHE_BUCKET, **DEBUG}

    first = invoke(env=env)

    # Night 1 describes both revisions, and writes them in the consumer account's own object
    assert first.error is None and calls["ecs:DescribeTaskDefinition"] == 2
    written = cached(cache, CONSUMER)
    assert (written["account"], written["region"]) == (CONSUMER, "us-east-1")
    assert set(written["taskDefinitions"]) == set(revisions.values())

    # When the consumer registers a third revision of a new digest and deregisters the first before night 2
    pinned["c"] = push(ecr, "app", "c", pushed_at=ago(30))
    revisions["c"] = task_definition(CONSUMER, "c", f"{REGISTRY}/app@{pinned['c']}")
    account_session(CONSUMER).client("ecs").deregister_task_definition(taskDefinition=revisions["a"])
    calls.clear()
    second = invoke(env=env)

    # Then night 2 describes only the new revision; the cache answers for the other,
    assert second.error is None and calls["ecs:DescribeTaskDefinition"] == 1
    [scanned] = second.records(record_type="in_use_scan")
    assert scanned["answered_from_cache"] == 1
    # what it answered protects as the API did, with the account in the reason,
    assert verdicts(second)[pinned["b"]] == ("kept", f"in use by ecs {CONSUMER} {revisions['b']}")
    # and the deregistered revision stops protecting its digest, and leaves the consumer's object
    assert digests(ecr, "app") == {pinned["b"], pinned["c"]}
    assert set(cached(cache, CONSUMER)["taskDefinitions"]) == {revisions["b"], revisions["c"]}


def test_a_consumer_accounts_unreadable_cache_object_means_a_full_scan_of_that_account_that_says_why(
    ecr: Any, cache: Any, invoke: Invoke, calls: Any
) -> None:
    # Given two consumer accounts whose revisions are cached, and one of the two objects corrupted
    create_repository(ecr, "app", "1")
    pinned = {account: push(ecr, "app", account, pushed_at=ago(30)) for account in (CONSUMER, OTHER)}
    for account, digest in pinned.items():
        reader_role(account)
        task_definition(account, "web", f"{REGISTRY}/app@{digest}")
    env = {"CONSUMER_ACCOUNTS": f"{CONSUMER},{OTHER}", "IN_USE_CACHE_BUCKET": CACHE_BUCKET}
    assert invoke(env=env).error is None
    cache.put_object(Bucket=CACHE_BUCKET, Key=_consumer_key(OTHER), Body=b"{not json")
    calls.clear()

    run = invoke(env=env)

    # Then that account is described in full, the other answered from its cache, nothing it runs is
    # deleted, and one warning names the object that could not be used
    assert run.error is None and calls["ecs:DescribeTaskDefinition"] == 1
    assert digests(ecr, "app") == set(pinned.values())
    [warning] = run.records(record_type="in_use_cache_error")
    assert warning["action"] == "read" and f"s3://{CACHE_BUCKET}/{_consumer_key(OTHER)}" in warning["error"]
    # and a good object is written back for the next night
    rewritten = cached(cache, OTHER)
    assert rewritten["account"] == OTHER and len(rewritten["taskDefinitions"]) == 1
