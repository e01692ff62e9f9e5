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

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from ecr_sweeper.aws import clients as aws_clients
from ecr_sweeper.aws.in_use.apprunner import scan_app_runner
from ecr_sweeper.aws.in_use.batch import scan_batch
from ecr_sweeper.aws.in_use.cache import InUseCacheStore, caller_account
from ecr_sweeper.aws.in_use.calls import NotOffered, ScanRun, Source, assume_fix, offered
from ecr_sweeper.aws.in_use.consumers import consumer_accounts
from ecr_sweeper.aws.in_use.ecs import scan_ecs
from ecr_sweeper.aws.in_use.eks import scan_eks
from ecr_sweeper.aws.in_use.fanout import Stopped, at_once
from ecr_sweeper.aws.in_use.functions import scan_lambda
from ecr_sweeper.aws.in_use.inspector import scan_inspector
from ecr_sweeper.aws.in_use.sagemaker import scan_sagemaker
from ecr_sweeper.aws.in_use.values import Account, Calls, ImmutableFacts, InUse, InUseScanFailed, ScanOptions
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.pacing import Pacer

T = TypeVar("T")

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


# Accounts read at once (the function's own and its consumer accounts). ECS and Lambda throttle per
# account, so each account has buckets of its own and the accounts do not slow each other down; the
# bound is the function's threads and memory (each account holds its own clients while it is read):
# 100 consumer accounts fit in the peak memory `make bench` measures (docs/scale/performance.md).
ACCOUNTS_AT_ONCE = 16


def scan(
    connect: Callable[..., Any],
    options: ScanOptions = ScanOptions(),
    assume: Callable[[str], Callable[..., Any]] | None = None,
    *,
    facts: ImmutableFacts | None = None,
    consumer_facts: Callable[[str], ImmutableFacts] | None = None,
    deadline: Deadline | None = None,
    pacer: Pacer | None = None,
    serial: bool = False,
) -> InUse:
    """Read every source of the region that `connect(service)` builds clients for, and, for each
    consumer account of `options.consumers`, every source of the same region through the client
    factory that `assume(role_arn)` returns for the role assumed in that account. The accounts, their
    sources and each source's describe calls are read at once, each call paced by its account's
    bucket (`pacer`, core/pacing.py); what each part found is merged in a fixed order (the
    function's own account, then the consumer accounts in order; in each, the sources' order).

    `facts`: what earlier runs learned that never changes about this account (the in-use cache);
    the scan describes only what it does not answer, and adds what it learns. `consumer_facts(account)`:
    the same for a consumer account, asked for once the account's role is assumed (None: each
    consumer account is described in full). Every one of them is marked complete only when the
    whole scan is. `deadline`: the scan fails closed (ScanOutOfTime) rather than run past the
    invocation's end."""
    run = ScanRun(options, Calls(), pacer if pacer is not None else Pacer(), threading.Event(), deadline, serial)
    in_use = InUse()
    facts = facts if facts is not None else ImmutableFacts()
    # This account's facts, then each consumer account's, in the order they were read.
    every: dict[str, ImmutableFacts] = {"": facts}
    # One botocore session reads the SDK's endpoint data for the whole scan (a session per source
    # would build its handlers again each time), through the clients' loader, and none is kept after it.
    endpoint_data = _once(aws_clients.endpoint_data)
    consumers = options.consumers
    # Every run warns about each ignored account, a consumer or not.
    in_use.ignored_accounts = list(consumers.ignored)
    try:
        readers: list[Account | None] = [None]
        if consumers.enabled:
            if assume is None:
                raise ValueError("consumer accounts are configured, but the scan was given no way to assume their role")
            sts = connect("sts")
            # The partition of the region the clients call (aws, aws-cn, aws-us-gov), as botocore knows it.
            readers += [
                Account(account, consumers.role_arn(sts.meta.partition, account))
                for account in consumer_accounts(Source("sts", sts, in_use, connect, run), connect, consumers)
            ]

        def read(reader: Account | None) -> InUse:
            if reader is None:
                return _read_account(connect, run, None, facts, endpoint_data)
            theirs = _assume(reader, assume, run)
            mine = every[reader.id] = consumer_facts(reader.id) if consumer_facts is not None else ImmutableFacts()
            return _read_account(theirs, run, reader, mine, endpoint_data)

        for part in at_once(readers, read, 1 if serial else ACCOUNTS_AT_ONCE, run.stop, "account"):
            in_use.merge(part)
        in_use.consumer_accounts = [reader.id for reader in readers if reader is not None]
        in_use.scanned_at = datetime.now(timezone.utc)
    except Stopped as stopped:
        raise InUseScanFailed(
            "in-use scan", "a part of the scan stopped without a failure", "report this as a bug"
        ) from stopped
    except InUseScanFailed as failed:
        failed.calls = run.calls.count
        raise
    finally:
        in_use.api_calls = run.calls.count
        in_use.from_cache = sum(known.hits for known in every.values())
    for known in every.values():
        known.complete = True
    return in_use


def _assume(reader: Account, assume: Callable[[str], Callable[..., Any]] | None, run: ScanRun) -> Callable[..., Any]:
    """The client factory of a consumer account, through its reader role. sts:AssumeRole is one of
    the scan's calls (InUseScanCalls), as the listing calls are, and is paced as STS's."""
    assert assume is not None
    if run.stop.is_set():
        raise Stopped
    run.pacer.take("", "sts", "AssumeRole")
    run.calls.add()
    try:
        return assume(reader.role_arn)
    except (ClientError, BotoCoreError, OSError) as error:
        raise InUseScanFailed(
            f"account {reader.id} sts AssumeRole", describe_error(error), assume_fix(reader, error)
        ) from error


def _once(make: Callable[[], T]) -> Callable[[], T]:
    """`make()` once, whichever thread asks first; the others wait for it."""
    lock = threading.Lock()
    made: list[T] = []

    def get() -> T:
        with lock:
            if not made:
                made.append(make())
            return made[0]

    return get


def scan_with_cache(
    connect: Callable[..., Any],
    options: ScanOptions,
    assume: Callable[[str], Callable[..., Any]] | None,
    *,
    cache: tuple[Callable[..., Any], str] | None,
    region: str,
    deadline: Deadline | None,
    on_cache_error: Callable[[str, BaseException], None],
    write_back: bool = True,
) -> InUse:
    """The scan, with the in-use cache when there is one (`cache`: the client factory of the
    function's home region and the bucket): read what earlier runs learned that never changes about
    each account the scan reads (the function's own, then each consumer account as the scan reaches
    it), scan, and write back what this run used or learned, also when the scan failed (what it
    read is still true). A cache that cannot be read means a full scan; one that cannot be written,
    a full scan again next time; `on_cache_error(action, error)` says so, and neither stops the run.
    `write_back=False`: read the cache, never write it (a Step Functions batch that scans again: only
    the execution's scan step writes the cache)."""
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
        for account, facts in opened.items() if write_back else ():
            try:
                store.save(account, region, facts)
            except Exception as error:  # noqa: BLE001 - the next run scans in full, nothing worse
                on_cache_error("write", error)


def _read_account(
    connect: Callable[..., Any],
    run: ScanRun,
    account: Account | None,
    facts: ImmutableFacts,
    endpoint_data: Callable[[], botocore.session.Session],
) -> InUse:
    """Every source of the region, in one account (the function's own: None, or a consumer's), read
    at once, each into a part of its own; merged in the sources' order."""

    def read(source_of: tuple[str, Callable[[Source[Any]], None]]) -> InUse:
        service, reader = source_of
        found = InUse()
        client = connect(service)
        if not offered(client, endpoint_data):
            # Not in the SDK's endpoint data: one quick attempt tells a new region from a missing service.
            client = connect(service, attempts=1)
        source = Source(service, client, found, connect, run, account, facts)
        try:
            reader(source)
        except NotOffered as missing:
            found.skipped.append(missing.service)
        except (InUseScanFailed, Stopped):
            raise
        except Exception as error:  # any gap in the picture makes deletion unsafe
            raise InUseScanFailed(source.named(service), describe_error(error), "report this as a bug") from error
        return found

    account_part = InUse()
    for part in at_once(list(SOURCES), read, 1 if run.serial else len(SOURCES), run.stop, "source"):
        account_part.merge(part)
    return account_part
