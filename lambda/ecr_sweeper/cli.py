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
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ecr_sweeper import runner
from ecr_sweeper.clients import AWS_ERRORS, SETUP_ERRORS, Clients, ecr_regions, require_models
from ecr_sweeper.model import Action, Check
from ecr_sweeper.outcome import InvalidTag, RepositoryFailed, RepositoryResult, SweepSummary
from ecr_sweeper.report import Recorder, notice_record
from ecr_sweeper.settings import ConfigError, RunOptions, Settings

# Amazon ECR storage: USD 0.10 per GB-month (aws.amazon.com/ecr/pricing, "Storage", private
# repositories; the same in most regions). An estimate: layers shared with kept images are not freed.
ECR_STORAGE_USD_PER_GB_MONTH = 0.10
GB = 1024**3

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments, settings or credentials: one line on stderr, exit code 2."""


# What a person fixes in their arguments, settings or set-up: exit code 2.
USAGE_ERRORS: tuple[type[Exception], ...] = (UsageError, ConfigError, *SETUP_ERRORS)


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
    except USAGE_ERRORS as error:
        _fail(args, error)
        return EXIT_USAGE
    except AWS_ERRORS as error:
        _fail(args, error)
        return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env({**os.environ, "POWERTOOLS_LOG_LEVEL": "DEBUG"})
    # pip may have given this laptop an older botocore than the function bundles.
    require_models()
    known = ecr_regions()
    for region in args.region or ():
        if region not in known:
            raise UsageError(f"--region {region!r} is not an ECR region")
    clients = Clients(profile=args.profile, endpoint_url=args.endpoint_url)
    if args.command == "explain":
        return explain(args, settings, clients)
    event: dict[str, Any] = {"dryRun": True}
    if args.repository:
        event["repositories"] = args.repository
    if getattr(args, "as_of", None):
        event["asOf"] = args.as_of
    options = RunOptions.from_event(event, settings)
    plan = _sweep(args, settings, options, clients)
    _show(args, plan)
    if args.command == "plan":
        return _exit(plan)
    to_delete = plan.summary.total("images_deleted")
    if to_delete == 0:
        _say(args, "Nothing to delete.")
        return _exit(plan)
    if not args.yes and not _confirm(f"Delete {to_delete} digest(s)? [y/N] "):
        _say(args, "Nothing deleted.")
        return EXIT_OK
    done = _sweep(args, settings, RunOptions(dry_run=False, repositories=options.repositories), clients)
    _show(args, done)
    return _exit(done)


def explain(args: argparse.Namespace, settings: Settings, clients: Clients) -> int:
    """Every rule the planner checked for one digest, whether it applied, and the verdict (README,
    "What ecr-sweeper will never delete"): the trace of a dry run of that repository."""
    options = RunOptions(dry_run=True, repositories=(args.repository,), trace=True)
    swept = _sweep(args, settings, options, clients, regions=(args.region or [None])[:1])
    result = next((r for r in swept.recorder.results if r.outcome.repository == args.repository), None)
    rules, verdict = _rules(result, args.digest)
    if args.output == "json":
        document = {"repository": args.repository, "digest": args.digest, "rules": rules, "verdict": verdict}
        print(json.dumps(document, default=str))
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
    return _exit(swept)


def _rules(result: RepositoryResult | None, digest: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The repository's retention, then the planner's own checks for the digest, and its verdict."""
    if result is None:
        return [{"rule": "repository", "applies": False, "detail": "not swept: see the errors above"}], None
    outcome = result.outcome
    why = f": {outcome.detail}" if outcome.detail else ""
    checks = [Check("retention", outcome.status.value == "swept", f"{outcome.retention} ({outcome.status.value}{why})")]
    if digest not in result.trace and outcome.status.value == "swept":
        checks.append(Check("exists", False, "no such digest in the repository"))
    checks += result.trace.get(digest, ())
    verdict = next((v for v in result.verdicts if v.image.digest == digest), None)
    shown = {"action": verdict.action.value, "reason": verdict.reason} if verdict else None
    return [{"rule": c.rule, "applies": c.applies, "detail": c.detail} for c in checks], shown


class _Run:
    """One sweep seen from the command line: the summary, and everything the sweep reported."""

    def __init__(self, summary: SweepSummary, recorder: Recorder) -> None:
        self.summary = summary
        self.recorder = recorder


def _sweep(
    args: argparse.Namespace,
    settings: Settings,
    options: RunOptions,
    clients: Clients,
    regions: Sequence[str | None] | None = None,
) -> _Run:
    recorder = Recorder(dry_run=options.dry_run)
    with _progress(args) as advance:
        recorder.progress = advance

        def listener(region: str | None) -> Recorder:
            recorder.region = region
            return recorder

        summary = runner.sweep(
            settings, options, listener=listener, clients=clients, regions=regions or args.region or (None,)
        )
    return _Run(summary, recorder)


def _exit(run: _Run) -> int:
    return EXIT_FAILED if run.summary.failed or run.summary.in_use_failed or run.summary.failed_regions else EXIT_OK


@contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Any]:
    """A bar over the repositories on a terminal; nothing when the output is piped or JSON."""
    if args.output != "table" or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("sweeping", total=None)
        yield lambda: progress.advance(task)


def _show(args: argparse.Namespace, run: _Run) -> None:
    results = run.recorder.results
    deleting = [
        verdict
        for result in results
        for verdict in result.verdicts
        if verdict.action in (Action.WOULD_DELETE, Action.DELETED)
    ]
    total_bytes = sum(verdict.image.size_bytes for verdict in deleting)
    totals = {
        "digests": len(deleting),
        "bytes": total_bytes,
        "estimatedMonthlySavingUsd": round(total_bytes / GB * ECR_STORAGE_USD_PER_GB_MONTH, 2),
    }
    if args.output == "json":
        summaries = [summary.to_dict() for summary in run.summary.regions or [run.summary]]
        print(json.dumps({"summaries": summaries, "totals": totals, "records": run.recorder.records}, default=str))
        return
    from rich.table import Table

    console = _console()
    for result in results:
        if not result.verdicts:
            continue
        table = Table(title=result.outcome.repository, title_justify="left")
        for column in ("digest", "pushed", "last pulled", "size", "verdict", "reason"):
            table.add_column(column)
        for verdict in result.verdicts:
            image = verdict.image
            table.add_row(
                image.digest[7:19],
                _day(image.pushed_at),
                _day(image.last_pulled_at),
                f"{image.size_bytes / 1e6:,.1f} MB",
                verdict.action.value,
                verdict.reason,
            )
        console.print(table)
    for problem in _problems(run):
        console.print(f"[yellow]{problem}[/]")
    console.print(
        f"Total: {totals['digests']} digest(s), {total_bytes / GB:,.2f} GB, about "
        f"USD {totals['estimatedMonthlySavingUsd']:,.2f} a month at USD {ECR_STORAGE_USD_PER_GB_MONTH}/GB-month"
    )


def _problems(run: _Run) -> list[str]:
    """What needs a person: invalid tags, failed repositories, a failed in-use scan or region."""
    dry_run = run.summary.dry_run
    problems = [
        notice_record(result.outcome.repository, notice, dry_run=dry_run).message
        for result in run.recorder.results
        for notice in result.events
        if isinstance(notice, InvalidTag | RepositoryFailed)
    ]
    for summary in run.summary.regions or [run.summary]:
        if summary.in_use_failed:
            problems.append(f"{summary.region}: in-use scan {summary.in_use_text}; nothing deleted in this region")
        if summary.error:
            problems.append(f"{summary.region}: failed, nothing deleted there: {summary.error}")
    return problems


def _console() -> Any:
    from rich.console import Console

    # Piped output keeps whole digests and reasons on one line, for grep; a terminal sets its own width.
    return Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty())


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


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
