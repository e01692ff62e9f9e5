"""`make demo`: the real handler against a local corrected ECR emulator, no AWS account needed.

It starts the emulator as a server on 127.0.0.1, seeds a small registry, runs the handler as a
dry run and then for real, and prints what was deleted, what was kept, and why.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from rich.console import Console
from rich.table import Table

from emulator import install
from emulator.identity import sweeper_credentials
from emulator.kubernetes import KubernetesAPI, pod, serve_cluster
from emulator.seed import create_repository, push, push_index, push_referrer
from emulator.server import free_port
from tests.output import invoke_captured

# Wide enough for the reasons when the output is piped (as in CI); a terminal sets its own width.
console = Console(width=None if sys.stdout.isatty() else 160)
NOW = datetime.now(timezone.utc)
KEY = "ecr-sweeper:retention-days"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def seed(ecr: Any, kube: KubernetesAPI) -> dict[str, str]:
    """A registry with a story in each repository. Returns digest -> label, for the tables."""
    labels: dict[str, str] = {}

    def image(repository: str, label: str, days: float, tag: str | None = None, pulled: float | None = None) -> str:
        digest = push(
            ecr,
            repository,
            f"{repository}:{label}",
            tag=tag,
            pushed_at=ago(days),
            last_pulled_at=None if pulled is None else ago(pulled),
        )
        labels[digest] = label
        return digest

    create_repository(ecr, "payments/api", "3")
    image("payments/api", "build-101 (tag latest moved on)", 10, tag="latest")
    image("payments/api", "build-102", 1, tag="latest")  # moves `latest`: build-101 is now untagged
    image("payments/api", "hotfix, pushed 1d ago", 1)
    image("payments/api", "canary, pushed 20d ago, pulled 1d ago", 20, pulled=1)
    image("payments/api", "release v2.0.0", 200, tag="v2.0.0")

    create_repository(ecr, "web/frontend")  # no tag: the default retention of 7 days
    image("web/frontend", "preview, pushed 30d ago", 30)
    image("web/frontend", "preview, pushed 2d ago", 2)
    image("web/frontend", "release v1", 90, tag="v1")

    create_repository(ecr, "ml/training", "0")
    image("ml/training", "experiment, pushed 1h ago", 1 / 24)

    create_repository(ecr, "data/etl", "14d")
    image("data/etl", "nightly, pushed 15d ago", 15)
    image("data/etl", "nightly, pushed 13d ago", 13)

    create_repository(ecr, "platform/base-images", "keep")
    image("platform/base-images", "base, pushed 400d ago", 400)

    create_repository(ecr, "legacy/batch", "two weeks")  # invalid: skipped, nothing deleted
    image("legacy/batch", "job, pushed 60d ago", 60)

    # Multi-arch: the children of a tagged index are untagged, old, and still needed.
    create_repository(ecr, "platform/runtime", "7")
    amd64 = image("platform/runtime", "v3 linux/amd64, pushed 90d ago", 90)
    arm64 = image("platform/runtime", "v3 linux/arm64, pushed 90d ago", 90)
    labels[push_index(ecr, "platform/runtime", [amd64, arm64], tag="v3", pushed_at=ago(90))] = "v3 index (tagged)"
    old_amd64 = image("platform/runtime", "v2 linux/amd64, pushed 60d ago", 60)
    old_index = push_index(ecr, "platform/runtime", [old_amd64], salt="v2", pushed_at=ago(60))
    labels[old_index] = "v2 index, untagged, pushed 60d ago"
    signature = push_referrer(ecr, "platform/runtime", amd64, pushed_at=ago(90))
    labels[signature] = "cosign signature of v3 linux/amd64"

    # A release index archived to the cheaper storage class: ECR serves no manifest of an archived
    # image, but still refuses to delete what it lists.
    create_repository(ecr, "platform/sdk", "7")
    sdk_amd64 = image("platform/sdk", "v1 linux/amd64, pushed 200d ago", 200)
    sdk_arm64 = image("platform/sdk", "v1 linux/arm64, pushed 200d ago", 200)
    sdk_index = push_index(ecr, "platform/sdk", [sdk_amd64, sdk_arm64], tag="v1", salt="sdk", pushed_at=ago(200))
    labels[sdk_index] = "v1 index (tagged, archived)"
    ecr.update_image_storage_class(
        repositoryName="platform/sdk", imageId={"imageDigest": sdk_index}, targetStorageClass="ARCHIVE"
    )
    image("platform/sdk", "v2 build nobody needs, pushed 30d ago", 30)

    # An ECS service scaled to zero, deployed from a tag that has moved on since, on a task
    # definition that was deregistered: its next scale-out pulls the digest the deployment resolved.
    create_repository(ecr, "web/checkout", "3")
    image("web/checkout", "build deployed to the checkout service, 40d ago", 40, tag="prod")
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="shop")
    definition = ecs.register_task_definition(
        family="checkout",
        containerDefinitions=[{"name": "web", "image": f"{REGISTRY}/web/checkout:prod", "memory": 256}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="shop", serviceName="checkout", taskDefinition=definition, desiredCount=0)
    ecs.deregister_task_definition(taskDefinition=definition)
    image("web/checkout", "current build, tag prod, pushed 1d ago", 1, tag="prod")
    image("web/checkout", "build nobody runs, 40d ago", 40)

    # An EKS cluster (a Kubernetes API stand-in over HTTPS on 127.0.0.1): a pod still runs a build
    # whose tag has moved on; only the pod's status holds the digest.
    serve_cluster(kube, "shop-eks")
    create_repository(ecr, "web/storefront", "3")
    storefront = image("web/storefront", "build a pod still runs, 20d ago (tag live moved on)", 20, tag="live")
    image("web/storefront", "current build, tag live", 1, tag="live")
    kube.add(
        pod(
            "shop",
            "storefront-5c9d",
            [("web", f"{REGISTRY}/web/storefront:live")],
            [("web", f"{REGISTRY}/web/storefront:live", f"{REGISTRY}/web/storefront@{storefront}")],
        )
    )

    # A Lambda function pinned to an old untagged digest.
    create_repository(ecr, "jobs/report", "3")
    pinned = image("jobs/report", "build pinned by a Lambda function, 45d ago", 45)
    image("jobs/report", "build nobody runs, 45d ago", 45)
    role = boto3.client("iam").create_role(RoleName="report-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda").create_function(
        FunctionName="report",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": f"{REGISTRY}/jobs/report@{pinned}"},
    )
    return labels


SHORT_DIGEST = re.compile(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}")
STYLE = {"deleted": "red", "would_delete": "yellow", "kept": "green", "delete_failed": "bold red"}


def show(title: str, emitted: Any, labels: dict[str, str]) -> None:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in ("repository", "image", "digest", "action", "reason"):
        table.add_column(column, overflow="fold")
    for record in emitted.records(record_type="verdict"):
        action = record["action"]
        table.add_row(
            record["repository"],
            labels.get(record["digest"], "?"),
            record["digest"][7:19],
            f"[{STYLE.get(action, '')}]{action}[/]",
            SHORT_DIGEST.sub(
                r"\1…", record["reason"] + (f" [yellow]but: {record['caveat']}[/]" if record.get("caveat") else "")
            ),
        )
    console.print(table)

    repos = Table(title="Per repository", title_justify="left")
    for column in ("repository", "retention", "status", "scanned", "untagged", "deleted", "detail"):
        repos.add_column(column, overflow="fold")
    for record in emitted.records(record_type="repository_summary"):
        repos.add_row(
            record["repository"],
            str(record["retention"]),
            record["status"],
            str(record["images_scanned"]),
            str(record["untagged_images"]),
            str(record["images_deleted"]),
            record.get("detail", ""),
        )
    console.print(repos)
    for warning in emitted.records(record_type="invalid_retention_tag"):
        console.print(f"[bold yellow]WARNING[/] {warning['message']}")
    [blob] = emitted.metric_blobs
    names = [m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    metrics = {name: blob[name] for name in names}
    values = {k: int(v[0] if isinstance(v, list) else v) for k, v in metrics.items()}
    console.print("Metrics (EMF):", ", ".join(f"{k}={v:,}" for k, v in values.items()))


def main() -> int:
    install()
    # The emulator's HTTP access log would drown the tables.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="DEBUG",
        DEFAULT_RETENTION_DAYS="7",
        RETENTION_TAG_KEY=KEY,
        DRY_RUN="false",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_STS"):
        os.environ.pop(name, None)
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        ecr = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1")
        kube = stack.enter_context(KubernetesAPI())
        labels = seed(ecr, kube)
        # From here on the handler runs as the deployed function does: an assumed role that the
        # stack registers as a pull-time update exclusion, so its manifest reads are not pulls.
        stack.enter_context(sweeper_credentials())
        # The EKS token is a GetCallerIdentity URL presigned for STS's own host, which is what a
        # cluster checks; presigning makes no call, so nothing leaves this machine.
        os.environ["AWS_ENDPOINT_URL_STS"] = "https://sts.us-east-1.amazonaws.com"
        before = _registry(ecr)
        tagged_before = {repository: _tagged(ecr, repository) for repository in before}
        console.rule(f"[bold]ecr-sweeper demo[/]: corrected ECR emulator on {endpoint}")
        console.print(f"Seeded {sum(len(v) for v in before.values())} images in {len(before)} repositories.\n")

        console.rule('1. Dry run: {"dryRun": true}')
        dry_run = invoke_captured({"dryRun": True}, None)
        dry, dry_error, dry_emitted = dry_run.result, dry_run.error, dry_run.emitted
        show("Verdicts (dry run: nothing is deleted)", dry_emitted, labels)
        untouched = _registry(ecr) == before

        console.rule("2. Real run: the scheduled event")
        real_run = invoke_captured({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, None)
        real, real_error, real_emitted = real_run.result, real_run.error, real_run.emitted
        show("Verdicts", real_emitted, labels)
        after = _registry(ecr)

        would = {r["digest"] for r in dry_emitted.records(action="would_delete")}
        # Deletions the dry run could not vouch for (an archived index may list them) carry a caveat.
        doubtful = {r["digest"] for r in dry_emitted.records(action="would_delete") if r.get("caveat")}
        kept_by_ecr = {
            r["digest"] for r in real_emitted.records(action="kept") if r["reason"].startswith("kept by ECR")
        }
        deleted = {r["digest"] for r in real_emitted.records(action="deleted")}
        kept_reasons = {r["reason"] for r in real_emitted.records(action="kept")}
        gone = {d for digests in before.values() for d in digests} - {d for digests in after.values() for d in digests}
        console.rule("Checks")
        checks = [
            ("the dry run deleted nothing", untouched),
            (
                "the dry run's summary says so and counts what it announced",
                dry is not None and dry["dryRun"] is True and dry["imagesDeleted"] == len(would),
            ),
            (
                "the real run deleted exactly what the dry run announced, less what ECR kept for an archived "
                "index, each flagged in the dry run",
                deleted == would - kept_by_ecr and kept_by_ecr <= doubtful and bool(kept_by_ecr),
            ),
            (
                "a digest is kept for a pod in an EKS cluster",
                any(reason.startswith("in use by eks shop-eks/shop/Pod/") for reason in kept_reasons),
            ),
            (
                "a digest is kept for an ECS service scaled to zero",
                any(
                    reason.startswith("in use by ecs arn:aws:ecs:") and ":service/" in reason for reason in kept_reasons
                ),
            ),
            ("every digest logged as deleted is gone from the registry, and no other", deleted == gone),
            ("no tagged image was touched", all(tagged_before[r] <= _tagged(ecr, r) for r in tagged_before)),
            ("both runs finished without error", dry_error is None and real_error is None),
        ]
        for text, ok in checks:
            console.print(f"{'[green]✓' if ok else '[red]✗'}[/] {text}")
        console.print("\nReturn value of the real run:")
        console.print_json(json.dumps({k: v for k, v in (real or {}).items() if k != "repositories"}))
        return 0 if all(ok for _, ok in checks) else 1


def _registry(ecr: Any) -> dict[str, set[str]]:
    result = {}
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repo in page["repositories"]:
            name = repo["repositoryName"]
            images = ecr.get_paginator("describe_images").paginate(repositoryName=name)
            result[name] = {d["imageDigest"] for p in images for d in p["imageDetails"]}
    return result


def _tagged(ecr: Any, repository: str) -> set[str]:
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repository, filter={"tagStatus": "TAGGED"})
    return {d["imageDigest"] for p in pages for d in p["imageDetails"]}


if __name__ == "__main__":
    sys.exit(main())
