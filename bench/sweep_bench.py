"""`make bench`: the real sweep against the corrected emulator, with a fixed latency per API call.

For each account size it runs the emulator as a separate server process (seeded in bulk), sweeps
it with the real lambda_handler in a child process (so that peak RSS is the sweeper's alone), and
reports API calls against the minimum, wall time, peak RSS, the sweeping process's CPU time per
API call, and the speed-up against a one-repository-at-a-time baseline (MAX_WORKERS=1) measured in
the same run. A throttled run must leave exactly the same registry. Then the in-use scan of one
large account and its consumer accounts, two nights in a row with the in-use cache: night 1 cold,
night 2 warm with new revisions in every account; night 2 may make no more calls than the pages,
the new objects and the reads of what may change. Nothing here asserts a time: the numbers are printed.

    python -m bench.sweep_bench                      # the tables of docs/scale/performance.md
    python -m bench.sweep_bench --sizes 10x100 --memory none --in-use none
    python -m bench.sweep_bench --sizes none --memory none --in-use 20000x500x2000 --new-revisions 50 \
        --consumers 3 --consumer-in-use 2000x50x200
    python -m bench.sweep_bench --sizes 100x1000 --memory none --in-use none --profile /tmp/profiles   # py-spy

Run it as a module from the repository root (`make bench` does), where the emulator package lives.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emulator.bulk import InUseAccount, Shape, Workloads, workload_image
from emulator.server import free_port

# The emulator's server and the sweeping child run from the repository root, as `python -m`.
ROOT = Path(__file__).resolve().parent.parent

WORKLOADS = Workloads()
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
CACHE_BUCKET = "bench-in-use-cache"
# The consumer accounts of the in-use nights (--consumers takes the first N).
CONSUMER_ACCOUNTS = ("210987654321", "310987654321", "410987654321", "510987654321", "610987654321")
# The calls that are not the in-use scan's: the sweep's own (ECR), the cache's (S3, and one
# sts:GetCallerIdentity for its account). With consumer accounts the scan itself asks STS who it is,
# then assumes each reader role: those are its calls.
NOT_THE_SCAN = ("ecr:", "s3:")
CACHE_IDENTITY = "sts:GetCallerIdentity"


def minimum_calls(shape: Shape) -> int:
    """The calls no sweep can avoid (docs/scale/performance.md)."""
    deletes = shape.deletes_per_repository()
    per_repository = (
        1  # ListTagsForResource
        + math.ceil(shape.images / 1000)  # DescribeImages, 1,000 per page
        + math.ceil(shape.indexes_per_repository() / 100)  # BatchGetImage, index manifests only
        + 2 * math.ceil(deletes / 100)  # BatchDeleteImage, and the re-check before each
    )
    return math.ceil(shape.repositories / 1000) + shape.repositories * per_repository + minimum_in_use_calls(WORKLOADS)


def pages(items: int, size: int) -> int:
    """A listing costs one call even when it is empty."""
    return max(1, math.ceil(items / size))


def minimum_in_use_calls(w: Workloads) -> int:
    """The in-use scan's pages, at each API's page size, plus one describe per object
    (docs/scale/performance.md). Services are scaled to zero: no task to describe."""
    versions = 2 * w.functions  # $LATEST and one published version each
    services = w.services_per_cluster
    per_cluster = (
        pages(services, 10)  # ListServices
        + math.ceil(services / 10)  # DescribeServices, 10 per call
        + math.ceil(services / 20)  # DescribeServiceRevisions, 20 per call, one revision each
        + 2  # ListTasks, RUNNING and PENDING
    )
    return (
        pages(versions, 50) + versions  # ListFunctions, GetFunction per image version
        + pages(w.clusters, 100) + w.clusters * per_cluster
        + pages(w.task_definitions, 100) + w.task_definitions  # services run some of these: described once
        + pages(w.job_definitions, 100)  # DescribeJobDefinitions
        + pages(w.app_runner_services, 20) + w.app_runner_services  # ListServices, DescribeService each
        + pages(w.models, 10) + w.models  # ListModels, DescribeModel each
        + pages(0, 100)  # EKS ListClusters: the bench seeds no cluster
        + pages(0, 100)  # Inspector ListCoverage: nothing seen in use
    )  # fmt: skip


def in_use_calls_at_most(account: InUseAccount, new_revisions: int, *, warm: bool) -> int:
    """The in-use scan's calls for `account` (docs/scale/performance.md): every listing's pages at each
    API's page size, and one describe per object on a cold night; on a warm night, the describes of
    what is new (`new_revisions`) and of what may change every night ($LATEST of each function; the
    services, their revisions and tasks are read per batch on both nights). No cluster runs a task."""
    revisions = account.revisions + new_revisions
    per_cluster = [min(account.services_per_cluster, account.services - c * account.services_per_cluster)
                   for c in range(account.clusters)]  # fmt: skip
    listed_versions = account.versions + account.functions  # published, and $LATEST of each
    described_versions = account.functions if warm else listed_versions
    described_revisions = new_revisions if warm else revisions
    return (
        pages(listed_versions, 50) + described_versions  # ListFunctions, GetFunction
        + pages(account.clusters, 100)  # ListClusters
        + sum(pages(n, 10) + math.ceil(n / 10) + math.ceil(n / 20) + 2 for n in per_cluster)
        + pages(revisions, 100) + described_revisions  # ListTaskDefinitions, DescribeTaskDefinition
        + 5  # one empty page each: Batch, App Runner, SageMaker, EKS clusters, Inspector coverage
    )  # fmt: skip


# --- the child: one sweep, measured -----------------------------------------------------------


def child(endpoint: str, workers: int) -> None:
    os.environ.update(CREDENTIALS, AWS_ENDPOINT_URL=endpoint, MAX_WORKERS=str(workers), POWERTOOLS_LOG_LEVEL="INFO")
    from ecr_sweeper.aws import clients
    from ecr_sweeper.faces import function as handler
    from ecr_sweeper.run import observability

    calls: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    make = clients.client

    def counting_client(service: str, *args: Any, **kwargs: Any) -> Any:
        made = make(service, *args, **kwargs)
        made.meta.events.register("before-call", lambda model, **_: calls.update([f"{service}:{model.name}"]))
        made.meta.events.register("before-send", lambda **_: attempts.update([service]))
        return made

    clients.client = counting_client  # type: ignore[assignment]
    # Log records are written, as in Lambda, but to /dev/null: kept in memory they would be what
    # the peak RSS measures (half a million deletion records in the largest run).
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    observability.logger.registered_handler.setStream(sink)  # type: ignore[attr-defined]
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        summary = handler.lambda_handler({}, None)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    measured = {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "cpu": cpu,
        "calls": calls,
        "attempts": sum(attempts.values()),
        "deleted": summary["imagesDeleted"],
        "errors": summary["repositoryErrors"],
        "in_use_calls": summary["inUseScanCalls"],
    }
    print(json.dumps(measured))


# --- the orchestrator -------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_mb: float
    # The sweeping process's CPU time, user and system, from its start (imports included).
    cpu_seconds: float
    calls: int
    attempts: int
    deleted: int
    registry: dict[str, frozenset[str]]


@contextlib.contextmanager
def emulator(
    shape: Shape, latency_ms: float, throttle: float, now: str, in_use: list[str] | None = None
) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "emulator.server", "--port", str(port), "--repositories", str(shape.repositories),
         "--images", str(shape.images), "--latency-ms", str(latency_ms), "--throttle", str(throttle), "--now", now,
         *(in_use or [])],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, **CREDENTIALS},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def aws(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench")  # fmt: skip


def snapshot(endpoint: str) -> dict[str, frozenset[str]]:
    import boto3
    from botocore.config import Config

    # The throttled emulator throttles this reader too: retry as the sweeper does.
    retries = Config(retries={"mode": "standard", "total_max_attempts": 10}, max_pool_connections=16)
    ecr = boto3.client(
        "ecr",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=retries,
    )
    names = [
        r["repositoryName"] for p in ecr.get_paginator("describe_repositories").paginate() for r in p["repositories"]
    ]

    def digests(name: str) -> frozenset[str]:
        pages = ecr.get_paginator("describe_images").paginate(repositoryName=name, PaginationConfig={"PageSize": 1000})
        return frozenset(d["imageDigest"] for page in pages for d in page["imageDetails"])

    with ThreadPoolExecutor(16) as pool:
        return dict(zip(names, pool.map(digests, names), strict=True))


def measure(
    endpoint: str, workers: int, env: dict[str, str] | None = None, profile: Path | None = None
) -> dict[str, Any]:
    """One sweep by the real handler in a child process, and what it measured; with `profile`, under
    py-spy, which writes there the child's stacks (sampled while a thread holds the GIL) as raw
    collapsed lines, one per stack and count."""
    command = [sys.executable, "-m", "bench.sweep_bench", "--child", endpoint, "--workers", str(workers)]
    if profile is not None:
        py_spy = Path(sys.executable).with_name("py-spy")
        command = [str(py_spy), "record", "--gil", "--idle", "--rate", "200", "--format", "raw",
                   "--output", str(profile), "--", *command]  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    # py-spy writes its own lines after the child's.
    measured: dict[str, Any] = json.loads(
        next(line for line in reversed(result.stdout.splitlines()) if line.startswith("{"))
    )
    if measured["errors"]:
        raise RuntimeError(f"{measured['errors']} repositories failed")
    return measured


def sweep(shape: Shape, workers: int, latency_ms: float, throttle: float, now: str, profile: Path | None = None) -> Run:
    with emulator(shape, latency_ms, throttle, now) as endpoint:
        WORKLOADS.seed(endpoint)
        measured = measure(endpoint, workers, profile=profile)
        return Run(
            measured["seconds"],
            measured["peak_mb"],
            measured["cpu"],
            sum(measured["calls"].values()),
            measured["attempts"],
            measured["deleted"],
            snapshot(endpoint),
        )


@dataclass
class Night:
    seconds: float
    # The in-use scan's calls by service:Operation, as counted on the handler's clients.
    calls: Counter[str]
    # What the run itself counted (InUseScanCalls, the summary's inUseScanCalls).
    reported: int

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def in_use_nights(
    account: str,
    consumers: tuple[str, ...],
    consumer: str,
    new_revisions: int,
    workers: int,
    latency_ms: float,
    now: str,
) -> tuple[Night, Night]:
    """Two nights of the same accounts with the in-use cache: cold, then warm with `new_revisions`
    new revisions in the registry account and in each consumer account."""
    seeding = ["--in-use", account, "--consumers", ",".join(consumers), "--consumer-in-use", consumer]
    with emulator(Shape(0, 0), latency_ms, 0.0, now, in_use=seeding) as endpoint:
        aws("s3", endpoint).create_bucket(Bucket=CACHE_BUCKET)
        env = {"IN_USE_CACHE_BUCKET": CACHE_BUCKET, "CONSUMER_ACCOUNTS": ",".join(consumers)}

        def night() -> Night:
            measured = measure(endpoint, workers, env)
            scan = Counter({c: n for c, n in measured["calls"].items() if not c.startswith(NOT_THE_SCAN)})
            scan[CACHE_IDENTITY] -= 1
            return Night(measured["seconds"], scan, measured["in_use_calls"])

        first = night()
        containers = [{"name": "c", "image": workload_image("us-east-1"), "memory": 64}]
        for ecs in [aws("ecs", endpoint), *(consumer_client("ecs", endpoint, c) for c in consumers)]:
            for n in range(new_revisions):
                ecs.register_task_definition(family=f"bench-new-{n:04d}", containerDefinitions=containers)
        return first, night()


def consumer_client(service: str, endpoint: str, account: str) -> Any:
    """A client in a consumer account, through its reader role (the emulator answers the role's
    account whatever the role may do)."""
    credentials = aws("sts", endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/ecr-sweeper-reader", RoleSessionName="bench"
    )["Credentials"]
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--workers", type=int, default=None, help="MAX_WORKERS for the parallel runs (default: the function's)"
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--throttle", type=float, default=0.2, help="throttle rate of the throttled run")
    parser.add_argument("--sizes", default="10x100,100x1000,1000x100", help="REPOSITORIESxIMAGES, comma-separated")
    parser.add_argument("--memory", default="1000x1000", help="size of the peak-memory run (no latency), or none")
    parser.add_argument(
        "--in-use", default="20000x500x2000", help="REVISIONSxSERVICESxVERSIONS of the in-use scan's nights, or none"
    )
    parser.add_argument(
        "--consumers", type=int, default=3, help=f"consumer accounts of the nights (up to {len(CONSUMER_ACCOUNTS)})"
    )
    parser.add_argument(
        "--consumer-in-use", default="2000x50x200", help="REVISIONSxSERVICESxVERSIONS of each consumer account"
    )
    parser.add_argument(
        "--new-revisions", type=int, default=50, help="revisions registered in each account before night 2"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="profile each size's parallel sweep with py-spy into DIR/SIZE.txt (its CPU figures then include the "
        "profiler's pauses)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers)
        return 0

    from rich.console import Console
    from rich.table import Table

    from ecr_sweeper.core.constants import DEFAULT_MAX_WORKERS

    workers = args.workers or DEFAULT_MAX_WORKERS
    now = datetime.now(timezone.utc).isoformat()
    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"ecr-sweeper sweep benchmark: {args.latency_ms:g} ms per API call, MAX_WORKERS={workers}")
    throttled_column = f"{args.throttle:.0%} throttled: time, retries, same registry"
    for column in ("repositories × images", "API calls", "minimum", "calls / min", "wall time", "peak RSS",
                   "CPU ms / call", "baseline (1 worker)", "speed-up", throttled_column):  # fmt: skip
        table.add_column(column, justify="right")
    ok = True
    for size in [] if args.sizes == "none" else args.sizes.split(","):
        repositories, images = (int(part) for part in size.lower().split("x"))
        shape = Shape(repositories, images)
        # The CPU time per call depends on what else the cores run: say how busy they were.
        load = os.getloadavg()[0]
        console.print(f"[dim]{size}: parallel, baseline, throttled (one-minute load average {load:.1f})...[/]")
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        profile = args.profile / f"{size}.txt" if args.profile else None
        parallel = sweep(shape, workers, args.latency_ms, 0.0, now, profile)
        baseline = sweep(shape, 1, args.latency_ms, 0.0, now)
        throttled = sweep(shape, workers, args.latency_ms, args.throttle, now)
        minimum = minimum_calls(shape)
        same = parallel.registry == baseline.registry == throttled.registry
        expected_deleted = repositories * shape.deletes_per_repository()
        ok &= same and parallel.deleted == expected_deleted and parallel.calls <= 1.1 * minimum
        table.add_row(
            f"{repositories:,} × {images:,}",
            f"{parallel.calls:,}",
            f"{minimum:,}",
            f"{parallel.calls / minimum:.2f}",
            f"{parallel.seconds:.1f} s",
            f"{parallel.peak_mb:.0f} MB",
            f"{1000 * parallel.cpu_seconds / parallel.calls:.2f}",
            f"{baseline.seconds:.1f} s",
            f"{baseline.seconds / parallel.seconds:.1f}×",
            f"{throttled.seconds:.1f} s, {throttled.attempts - throttled.calls:,}, {'yes' if same else 'NO'}",
        )
    if args.sizes != "none":
        console.print(table)
    if args.memory != "none":
        repositories, images = (int(part) for part in args.memory.lower().split("x"))
        console.print(f"[dim]{args.memory}: peak memory run, no latency...[/]")
        run = sweep(Shape(repositories, images), workers, 0.0, 0.0, now)
        console.print(
            f"Peak RSS sweeping {repositories:,} repositories × {images:,} images "
            f"({run.deleted:,} deletions, {run.calls:,} calls, {run.seconds:.0f} s): {run.peak_mb:.0f} MB"
        )
        ok &= run.peak_mb < 256
    if args.in_use != "none":
        consumers = CONSUMER_ACCOUNTS[: args.consumers]
        ok &= in_use_table(
            console, args.in_use, consumers, args.consumer_in_use, args.new_revisions, workers, args.latency_ms, now
        )
    return 0 if ok else 1


def in_use_table(
    console: Any,
    size: str,
    consumers: tuple[str, ...],
    consumer_size: str,
    new_revisions: int,
    workers: int,
    latency_ms: float,
    now: str,
) -> bool:
    """The in-use table: night 1 (cold cache) and night 2 (warm, new revisions), each against the
    calls it may make at most; False when a night made more, or counted its calls wrong."""
    from rich.table import Table

    account = InUseAccount(*(int(part) for part in size.lower().split("x")))
    consumer = InUseAccount(*(int(part) for part in consumer_size.lower().split("x")))
    accounts = [account, *(consumer for _ in consumers)]
    console.print(
        f"[dim]in-use {size} and {len(consumers)} consumer account(s) of {consumer_size}: night 1 (cold cache), "
        f"{new_revisions} new revisions in each account, night 2 "
        f"(one-minute load average {os.getloadavg()[0]:.1f})...[/]"
    )
    first, second = in_use_nights(size, consumers, consumer_size, new_revisions, workers, latency_ms, now)
    table = Table(
        title=f"in-use scan, {account.revisions:,} ACTIVE task definition revisions, {account.services:,} services, "
        f"{account.versions:,} published image function versions ({account.functions:,} functions), "
        f"{len(consumers)} consumer accounts of {consumer.revisions:,}, {consumer.services:,} and "
        f"{consumer.versions:,}: {latency_ms:g} ms per API call"
    )
    for column in ("night", "API calls", "at most", "DescribeTaskDefinition", "GetFunction", "wall time"):
        table.add_column(column, justify="right")
    ok = True
    nights = (("1: cold cache", first, False), (f"2: warm, +{new_revisions} revisions each", second, True))
    for label, night, warm in nights:
        bound = sum(in_use_calls_at_most(each, new_revisions if warm else 0, warm=warm) for each in accounts)
        # With consumers: who the sweeper is (sts:GetCallerIdentity), and one sts:AssumeRole per account.
        bound += len(consumers) + 1 if consumers else 0
        ok &= night.total <= bound and night.reported == night.total
        table.add_row(
            label,
            f"{night.total:,}" + ("" if night.reported == night.total else f" (reported {night.reported:,})"),
            f"{bound:,}",
            f"{night.calls['ecs:DescribeTaskDefinition']:,}",
            f"{night.calls['lambda:GetFunction']:,}",
            f"{night.seconds:.1f} s",
        )
    console.print(table)
    return ok


if __name__ == "__main__":
    sys.exit(main())
