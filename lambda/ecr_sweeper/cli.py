"""`ecr-sweeper` on a laptop: the same sweep as the Lambda function, with AWS CLI habits.

    ecr-sweeper plan [--repository NAME]... [--as-of TIME] [--output table|json]
    ecr-sweeper sweep [--repository NAME]... [--yes]
    ecr-sweeper explain REPOSITORY DIGEST

Exit codes: 0 success, 1 a repository (or the in-use scan) failed, 2 bad usage, settings or credentials.
Settings come from the same environment variables as the function (README, "Function settings").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from ecr_sweeper import handler
from ecr_sweeper.clients import client, require_models
from ecr_sweeper.outcome import SweepSummary
from ecr_sweeper.settings import ConfigError, RunOptions, Settings, parse_time

# Amazon ECR storage: USD 0.10 per GB-month (aws.amazon.com/ecr/pricing, "Storage", private
# repositories; the same in most regions). An estimate: layers shared with kept images are not freed.
ECR_STORAGE_USD_PER_GB_MONTH = 0.10
GB = 1024**3

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments, settings or credentials: one line on stderr, exit code 2."""


@dataclass
class Collector:
    """Stands in for the Powertools logger: keeps every record the sweep writes, kept ones included."""

    records: list[dict[str, Any]] = field(default_factory=list)
    progress: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, level: int, message: str, *, extra: dict[str, Any] | None = None, **_: Any) -> None:
        record = {"message": message, **(extra or {})}
        with self.lock:
            self.records.append(record)
        if self.progress is not None and record.get("record_type") == "repository_summary":
            self.progress()

    def info(self, message: str, **kwargs: Any) -> None:
        self.log(20, message, **kwargs)

    def warning(self, message: str, **kwargs: Any) -> None:
        self.log(30, message, **kwargs)

    def error(self, message: str, **kwargs: Any) -> None:
        self.log(40, message, **kwargs)

    def thread_safe_append_keys(self, **_: Any) -> None:
        return None

    def thread_safe_remove_keys(self, _: Any) -> None:
        return None


def _common(*, top: bool) -> argparse.ArgumentParser:
    """The global options, accepted before or after the command as with the AWS CLI. A command's
    copy defaults to "not given", so that it never overwrites a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    common.add_argument("--profile", help="a named profile from your AWS config", **default)
    common.add_argument(
        "--region", action="append", help="region to sweep; repeat for several (default: your config's)", **default
    )
    common.add_argument("--endpoint-url", help="send every AWS call here (a local emulator)", **default)
    common.add_argument("--output", choices=("table", "json"), **(default or {"default": "table"}))
    common.add_argument("--debug", action="store_true", help="show tracebacks", **default)
    return common


def parser() -> argparse.ArgumentParser:
    common = _common(top=False)
    top = argparse.ArgumentParser(prog="ecr-sweeper", description=__doc__.split("\n\n")[0], parents=[_common(top=True)])
    commands = top.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", parents=[common], help="show what a sweep would delete (a dry run)")
    plan.add_argument("--repository", action="append", help="only this repository; repeatable")
    plan.add_argument("--as-of", help="judge expiry as of this ISO-8601 time")
    sweep = commands.add_parser("sweep", parents=[common], help="show the plan, then delete")
    sweep.add_argument("--repository", action="append", help="only this repository; repeatable")
    sweep.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    explain = commands.add_parser("explain", parents=[common], help="why one digest is kept or deleted")
    explain.add_argument("repository")
    explain.add_argument("digest")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except (UsageError, ConfigError, ProfileNotFound, NoCredentialsError) as error:
        _fail(args, error)
        return EXIT_USAGE
    except (ClientError, BotoCoreError) as error:
        _fail(args, error)
        return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env({**os.environ, "POWERTOOLS_LOG_LEVEL": "DEBUG"})
    # pip may have given this laptop an older botocore than the function bundles.
    require_models()
    regions = args.region or [None]
    known = set(boto3.session.Session().get_available_regions("ecr"))
    for region in args.region or ():
        if region not in known:
            raise UsageError(f"--region {region!r} is not an ECR region")
    if args.command == "explain":
        return explain(args, settings, regions[0])
    as_of = parse_time(args.as_of) if getattr(args, "as_of", None) else None
    event: dict[str, Any] = {"dryRun": True}
    if args.repository:
        event["repositories"] = args.repository
    if as_of:
        event["asOf"] = args.as_of
    options = RunOptions.from_event(event, settings)
    plans = [_sweep(args, settings, options, region) for region in regions]
    _show(args, plans)
    failed = any(summary.failed or summary.in_use_failed for summary, _ in plans)
    if args.command == "plan":
        return EXIT_FAILED if failed else EXIT_OK
    to_delete = sum(summary.total("images_deleted") for summary, _ in plans)
    if to_delete == 0:
        _say(args, "Nothing to delete.")
        return EXIT_FAILED if failed else EXIT_OK
    if not args.yes and not _confirm(f"Delete {to_delete} digest(s)? [y/N] "):
        _say(args, "Nothing deleted.")
        return EXIT_OK
    real = RunOptions(dry_run=False, repositories=options.repositories)
    results = [_sweep(args, settings, real, region) for region in regions]
    _show(args, results)
    return EXIT_FAILED if any(s.failed or s.in_use_failed for s, _ in results) else EXIT_OK


def explain(args: argparse.Namespace, settings: Settings, region: str | None) -> int:
    """Every rule checked for one digest, whether it applied, and the verdict (README, "What
    ecr-sweeper will never delete")."""
    options = RunOptions.from_event({"dryRun": True, "repositories": [args.repository]}, settings)
    summary, records = _sweep(args, settings, options, region)
    connect = partial(_connect, profile=args.profile, region=region, endpoint_url=args.endpoint_url)
    rules, verdict = _rules(args.repository, args.digest, records, connect, settings)
    if args.output == "json":
        print(json.dumps({"repository": args.repository, "digest": args.digest, "rules": rules,
                          "verdict": verdict}, default=str))  # fmt: skip
    else:
        console = _console()
        console.print(f"[bold]{args.repository}@{args.digest}[/]")
        for rule in rules:
            mark = "[green]applies[/]" if rule["applies"] else "[dim]does not apply[/]"
            console.print(f"  {rule['rule']}: {mark} - {rule['detail']}")
        if verdict:
            console.print(f"[bold]verdict[/]: {verdict['action']} - {verdict['reason']}")
        else:
            console.print("[bold]verdict[/]: none - tagged images are never judged, or the repository was not swept")
    return EXIT_FAILED if summary.failed or summary.in_use_failed else EXIT_OK


def _rules(
    repository: str, digest: str, records: list[dict[str, Any]], connect: Any, settings: Settings
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    from ecr_sweeper.constants import INDEX_MEDIA_TYPES
    from ecr_sweeper.model import Repository
    from ecr_sweeper.registry import EcrRegistry
    from ecr_sweeper.usage import scan

    verdicts = {r["digest"]: r for r in records if r.get("record_type") == "verdict"}
    [repo_summary] = [r for r in records if r.get("record_type") == "repository_summary"] or [{}]
    ecr = connect("ecr")
    arn = next(
        (r["repositoryArn"] for r in ecr.describe_repositories(repositoryNames=[repository])["repositories"]), ""
    )
    registry = EcrRegistry(ecr)
    images = {image.digest: image for image in registry.images(Repository(repository, arn))}
    image = images.get(digest)
    if image is None:
        return [{"rule": "exists", "applies": False, "detail": "no such digest in the repository"}], None
    indexes = [d for d, i in images.items() if i.media_type in INDEX_MEDIA_TYPES]
    archived = {d for d, i in images.items() if i.archived}
    children = registry.manifests(Repository(repository, arn), indexes, archived=archived) if indexes else {}
    parents = [index for index, listed in children.items() if digest in listed]

    def state(other: str) -> str:
        if images[other].tags:
            return f"kept: tagged {', '.join(images[other].tags)}"
        seen = verdicts.get(other)
        return f"{seen['action']}: {seen['reason']}" if seen else "unknown"

    users = [str(use) for use in scan(connect).users(digest)] if settings.protect_in_use else []
    retention = repo_summary.get("retention")
    why = f": {repo_summary['detail']}" if repo_summary.get("detail") else ""
    rules = [
        {"rule": "tagged", "applies": bool(image.tags), "detail": ", ".join(image.tags) or "no tag"},
        {"rule": "archived", "applies": image.archived, "detail": f"image status {image.status}"},
        {"rule": "retention", "applies": repo_summary.get("status") == "swept",
         "detail": f"{retention} ({repo_summary.get('status')}{why})"},
        {"rule": "age", "applies": True, "detail": f"pushed {image.pushed_at}"},
        {"rule": "recent pull", "applies": image.last_pulled_at is not None,
         "detail": f"last pulled {image.last_pulled_at}" if image.last_pulled_at else "no pull recorded"},
        {"rule": "in use", "applies": bool(users),
         "detail": "; ".join(users) if users else ("not scanned (PROTECT_IN_USE=false)" if not settings.protect_in_use
                                                   else "no workload runs it or names it by digest")},
        {"rule": "child of an index", "applies": bool(parents),
         "detail": "; ".join(f"{p} ({state(p)})" for p in parents) or "no index in the repository lists it"},
        {"rule": "referrer of an image", "applies": image.subject_digest is not None,
         "detail": (f"{image.subject_digest} ({state(image.subject_digest)})" if image.subject_digest in images
                    else f"{image.subject_digest} (gone: an orphan)") if image.subject_digest else "not a referrer"},
    ]  # fmt: skip
    return rules, verdicts.get(digest)


def _sweep(
    args: argparse.Namespace, settings: Settings, options: RunOptions, region: str | None
) -> tuple[SweepSummary, list[dict[str, Any]]]:
    collector = Collector()
    connect = partial(_connect, profile=args.profile, region=region, endpoint_url=args.endpoint_url)
    with _progress(args, region) as advance:
        collector.progress = advance
        summary = handler.sweep(settings, options, None, connect=connect, log=collector)
    handler.metrics.clear_metrics()
    # Once per region: a default argument of setdefault would build a client for every record.
    name = region or connect("ecr").meta.region_name
    for record in collector.records:
        record.setdefault("region", name)
    return summary, collector.records


def _connect(service: str, *, profile: str | None, region: str | None, endpoint_url: str | None, **kwargs: Any) -> Any:
    return client(service, region, profile=profile, endpoint_url=endpoint_url, **kwargs)


@contextmanager
def _progress(args: argparse.Namespace, region: str | None) -> Iterator[Any]:
    """A bar over the repositories on a terminal; nothing when the output is piped or JSON."""
    if args.output != "table" or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(f"sweeping {region or 'default region'}", total=None)
        yield lambda: progress.advance(task)


def _show(args: argparse.Namespace, runs: list[tuple[SweepSummary, list[dict[str, Any]]]]) -> None:
    records = [record for _, summary_records in runs for record in summary_records]
    deleting = [r for r in records if r.get("action") in ("would_delete", "deleted")]
    total_bytes = sum(int(r.get("size_bytes") or 0) for r in deleting)
    totals = {
        "digests": len(deleting),
        "bytes": total_bytes,
        "estimatedMonthlySavingUsd": round(total_bytes / GB * ECR_STORAGE_USD_PER_GB_MONTH, 2),
    }
    if args.output == "json":
        summaries = [summary.to_dict() for summary, _ in runs]
        print(json.dumps({"summaries": summaries, "totals": totals, "records": records}, default=str))
        return
    from rich.table import Table

    console = _console()
    by_repository: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("record_type") == "verdict":
            by_repository.setdefault(record["repository"], []).append(record)
    for repository, verdicts in by_repository.items():
        table = Table(title=repository, title_justify="left")
        for column in ("digest", "pushed", "last pulled", "size", "verdict", "reason"):
            table.add_column(column)
        for r in verdicts:
            table.add_row(
                r["digest"][7:19],
                _day(r.get("pushed_at")),
                _day(r.get("last_pulled_at")),
                f"{int(r.get('size_bytes') or 0) / 1e6:,.1f} MB",
                r["action"],
                r["reason"],
            )
        console.print(table)
    for record in records:
        if record.get("record_type") in ("invalid_retention_tag", "repository_error", "in_use_scan_failed"):
            console.print(f"[yellow]{record['message']}[/]")
    console.print(
        f"Total: {totals['digests']} digest(s), {total_bytes / GB:,.2f} GB, about "
        f"USD {totals['estimatedMonthlySavingUsd']:,.2f} a month at USD {ECR_STORAGE_USD_PER_GB_MONTH}/GB-month"
    )


def _console() -> Any:
    from rich.console import Console

    # Piped output keeps whole digests and reasons on one line, for grep; a terminal sets its own width.
    return Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty())


def _day(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError("refusing to delete without confirmation: stdin is not a terminal; pass --yes")
    return input(question).strip().lower() in ("y", "yes")


def _say(args: argparse.Namespace, text: str) -> None:
    print(text, file=sys.stderr if args.output == "json" else sys.stdout)


def _fail(args: argparse.Namespace, error: BaseException) -> None:
    if args.debug:
        traceback.print_exc()
    print(f"ecr-sweeper: {type(error).__name__}: {error}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
