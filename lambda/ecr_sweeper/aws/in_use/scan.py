"""Which ECR digests the region's workloads run, or will pull at their next scale-out (AWS calls, no decisions).

Sources, each read completely or not at all:
- Lambda: every image function version, by ImageUri and by ResolvedImageUri, the digest a tag
  resolved to when the code was set (aws-actions/aws-lambda-deploy#68);
- ECS services, scaled to zero or not: the task definitions of their PRIMARY and ACTIVE deployments
  and task sets, ACTIVE or INACTIVE, and the digests ECS resolved for their current service
  revisions (DescribeServiceRevisions, containerImages[].imageDigest): what a scale-out pulls
  (aws/amazon-ecs-agent#4226, containers-roadmap#2394);
- ECS tasks, running or pending: the digest each container was started from (containers[].imageDigest);
- ECS task definitions that are ACTIVE and name a digest;
- AWS Batch job definitions that are ACTIVE and name a digest;
- App Runner services whose image identifier is an ECR digest;
- SageMaker models (PrimaryContainer, Containers[], and the model packages they name);
- EKS clusters, through their Kubernetes API; Amazon Inspector's in-use data.
Digests are content hashes, so a digest in use is protected in every repository of the region.
A central registry's consumers (ScanOptions.consumers: listed accounts, or every ACTIVE account of
the AWS Organization) are read the same way, each through a role assumed in it, every source of the
region; their reasons name the account ("in use by ecs 210987654321 <ARN>").
If any source, of any account, cannot be read completely, the scan raises InUseScanFailed and
nothing is deleted.

What never changes once it exists is read once and then remembered between runs (ImmutableFacts,
kept by cache.py): the images a task definition revision `family:N` names, and the code of a
published Lambda version. Which revisions are ACTIVE and which versions exist are listed every run,
as is everything else (services, deployments, service revisions, tasks, `$LATEST`, ...). Each
consumer account has facts of its own, cached under its own account ID.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from ecr_sweeper.aws.in_use.apprunner import scan_app_runner
from ecr_sweeper.aws.in_use.batch import scan_batch
from ecr_sweeper.aws.in_use.cache import InUseCacheStore, caller_account
from ecr_sweeper.aws.in_use.calls import NotOffered, Source, assume_fix, offered
from ecr_sweeper.aws.in_use.consumers import consumer_accounts
from ecr_sweeper.aws.in_use.ecs import scan_ecs
from ecr_sweeper.aws.in_use.eks import scan_eks
from ecr_sweeper.aws.in_use.functions import scan_lambda
from ecr_sweeper.aws.in_use.inspector import scan_inspector
from ecr_sweeper.aws.in_use.sagemaker import scan_sagemaker
from ecr_sweeper.aws.in_use.values import Account, ImmutableFacts, InUse, InUseScanFailed, ScanOptions
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.errors import describe_error

# Service (boto3 name) -> reader, in the order of the reasons.
SOURCES: tuple[tuple[str, Callable[[Source[Any]], None]], ...] = (
    ("lambda", scan_lambda),
    ("ecs", scan_ecs),
    ("batch", scan_batch),
    ("apprunner", scan_app_runner),
    ("sagemaker", scan_sagemaker),
    ("eks", scan_eks),
    ("inspector2", scan_inspector),
)


def scan(
    connect: Callable[..., Any],
    options: ScanOptions = ScanOptions(),
    assume: Callable[[str], Callable[..., Any]] | None = None,
    *,
    facts: ImmutableFacts | None = None,
    consumer_facts: Callable[[str], ImmutableFacts] | None = None,
    deadline: Deadline | None = None,
) -> InUse:
    """Read every source of the region that `connect(service)` builds clients for; then, for each
    consumer account of `options.consumers`, every source of the same region through the client
    factory that `assume(role_arn)` returns for the role assumed in that account.

    `facts`: what earlier runs learned that never changes about this account (the in-use cache);
    the scan describes only what it does not answer, and adds what it learns. `consumer_facts(account)`:
    the same for a consumer account, asked for once the account's role is assumed (None: each
    consumer account is described in full). Every one of them is marked complete only when the
    whole scan is. `deadline`: the scan fails closed (ScanOutOfTime) rather than run past the
    invocation's end."""
    in_use = InUse()
    facts = facts if facts is not None else ImmutableFacts()
    # This account's facts, then each consumer account's, in the order they were read.
    every = [facts]
    # One botocore session reads the SDK's endpoint data for the whole scan (a session per source
    # read endpoints.json again each time, about 0.05 s of CPU), and none is kept after it: a session
    # holds that data and every service model it read, about 10 MB.
    endpoint_data = functools.cache(botocore.session.get_session)
    try:
        _read_account(connect, in_use, options, None, facts, deadline, endpoint_data)
        consumers = options.consumers
        # Every run warns about each ignored account, a consumer or not.
        in_use.ignored_accounts = list(consumers.ignored)
        if consumers.enabled:
            if assume is None:
                raise ValueError("consumer accounts are configured, but the scan was given no way to assume their role")
            sts = connect("sts")
            for account in consumer_accounts(sts, connect, in_use, consumers):
                # The partition of the region the clients call (aws, aws-cn, aws-us-gov), as botocore knows it.
                reader = Account(account, consumers.role_arn(sts.meta.partition, account))
                # sts:AssumeRole is one of the scan's calls (InUseScanCalls), as the listing calls are.
                in_use.api_calls += 1
                try:
                    theirs = assume(reader.role_arn)
                except (ClientError, BotoCoreError, OSError) as error:
                    raise InUseScanFailed(
                        f"account {account} sts AssumeRole", describe_error(error), assume_fix(reader, error)
                    ) from error
                every.append(consumer_facts(account) if consumer_facts is not None else ImmutableFacts())
                _read_account(theirs, in_use, options, reader, every[-1], deadline, endpoint_data)
                in_use.consumer_accounts.append(account)
    except InUseScanFailed as failed:
        failed.calls = in_use.api_calls
        raise
    finally:
        in_use.from_cache = sum(known.hits for known in every)
    for known in every:
        known.complete = True
    return in_use


def scan_with_cache(
    connect: Callable[..., Any],
    options: ScanOptions,
    assume: Callable[[str], Callable[..., Any]] | None,
    *,
    cache: tuple[Callable[..., Any], str] | None,
    region: str,
    deadline: Deadline | None,
    on_cache_error: Callable[[str, BaseException], None],
) -> InUse:
    """The scan, with the in-use cache when there is one (`cache`: the client factory of the
    function's home region and the bucket): read what earlier runs learned that never changes about
    each account the scan reads (the function's own, then each consumer account as the scan reaches
    it), scan, and write back what this run used or learned, also when the scan failed (what it
    read is still true). A cache that cannot be read means a full scan; one that cannot be written,
    a full scan again next time; `on_cache_error(action, error)` says so, and neither stops the run."""
    if cache is None:
        return scan(connect, options, assume, deadline=deadline)
    home, bucket = cache
    # The cache lives with the stack (the home region); each account and region has its own object.
    store = InUseCacheStore(home("s3"), bucket)
    opened: dict[str, ImmutableFacts] = {}

    def facts_of(account: str) -> ImmutableFacts:
        facts = ImmutableFacts()
        try:
            facts = store.load(account, region)
        except Exception as error:  # noqa: BLE001 - without the cache the scan describes everything
            on_cache_error("read", error)
        opened[account] = facts
        return facts

    own = ImmutableFacts()
    try:
        own = facts_of(caller_account(home("sts")))
    except Exception as error:  # noqa: BLE001 - the account unknown: no object to read or write
        on_cache_error("read", error)
    try:
        return scan(connect, options, assume, facts=own, consumer_facts=facts_of, deadline=deadline)
    finally:
        for account, facts in opened.items():
            try:
                store.save(account, region, facts)
            except Exception as error:  # noqa: BLE001 - the next run scans in full, nothing worse
                on_cache_error("write", error)


def _read_account(
    connect: Callable[..., Any],
    in_use: InUse,
    options: ScanOptions,
    account: Account | None,
    facts: ImmutableFacts,
    deadline: Deadline | None,
    endpoint_data: Callable[[], botocore.session.Session],
) -> None:
    """Every source of the region, in one account: the function's own (None) or a consumer's."""
    for service, read in SOURCES:
        client = connect(service)
        if not offered(client, endpoint_data):
            # Not in the SDK's endpoint data: one quick attempt tells a new region from a missing service.
            client = connect(service, attempts=1)
        source = Source(service, client, in_use, connect, options, account, facts, deadline)
        try:
            read(source)
        except NotOffered as missing:
            if missing.service not in in_use.skipped:
                in_use.skipped.append(missing.service)
        except InUseScanFailed:
            raise
        except Exception as error:  # any gap in the picture makes deletion unsafe
            raise InUseScanFailed(source.named(service), describe_error(error), "report this as a bug") from error
