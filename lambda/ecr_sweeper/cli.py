"""`ecr-sweeper` on a laptop: the same sweep as the Lambda function, with AWS CLI habits.

    ecr-sweeper plan [--repository PATTERN]... [--as-of TIME] [--save PLAN.json] [--details]
    ecr-sweeper sweep [--repository PATTERN]... [--plan PLAN.json] [--yes] [--details]
    ecr-sweeper explain REPOSITORY DIGEST

Exit codes: 0 done and nothing failed; 1 a repository, a deletion, a region or the in-use scan
failed; 2 bad usage or set-up; 130 interrupted (Ctrl-C).
Settings come from the same environment variables as the function (docs: Function settings).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ecr_sweeper import runner, saved_plan
from ecr_sweeper.clients import AWS_ERRORS, Clients, ecr_regions, require_models, setup_problem
from ecr_sweeper.deadline import Deadline
from ecr_sweeper.errors import describe_error
from ecr_sweeper.model import Action, Image
from ecr_sweeper.references import is_excluded, principal_arn
from ecr_sweeper.settings import ConfigError, RunOptions, Settings, parse_time
from ecr_sweeper.views import SHORT_DIGEST, Collected, Run, View, listing

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_HEX = re.compile(r"[0-9a-f]+")


class UsageError(Exception):
    """Bad arguments, settings or set-up: one line on stderr that says what to do, exit code 2."""


class Interrupted(Exception):
    """Ctrl-C before anything was deleted."""


def version_text() -> str:
    try:
        return version("ecr-sweeper")
    except PackageNotFoundError:  # run from a checkout without `pip install`
        return "unknown (not installed)"


def _common(*, top: bool) -> argparse.ArgumentParser:
    """The global options, accepted before or after the command as with the AWS CLI. A command's
    copy defaults to "not given", so that it never overwrites a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    common.add_argument("--profile", help="a named profile from your AWS config", **default)
    common.add_argument(
        "--region",
        action="append",
        help="region to sweep; repeat for several (default: AWS_REGION, AWS_DEFAULT_REGION, then your profile's)",
        **default,
    )
    common.add_argument("--endpoint-url", help="send every AWS call here, e.g. http://localhost:4566", **default)
    common.add_argument(
        "--output",
        choices=("table", "json", "jsonl"),
        help="table (default), one JSON document, or JSON lines as they happen",
        **(default or {"default": "table"}),
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks", **default)
    common.add_argument(
        "--read-manifests",
        action="store_true",
        help="read untagged index manifests even though your principal is not a pull-time update exclusion",
        **default,
    )
    return common


def parser() -> argparse.ArgumentParser:
    common = _common(top=False)
    top = argparse.ArgumentParser(prog="ecr-sweeper", description=__doc__.split("\n\n")[0], parents=[_common(top=True)])
    top.add_argument("--version", action="version", version=f"ecr-sweeper {version_text()}")
    commands = top.add_subparsers(dest="command", required=True)
    pattern = "only repositories matching this name or shell pattern ('team/*'); repeatable"
    plan = commands.add_parser("plan", parents=[common], help="show what a sweep would delete (a dry run)")
    plan.add_argument("--repository", action="append", help=pattern)
    plan.add_argument("--as-of", help="judge expiry as of this ISO-8601 time (a forecast)")
    plan.add_argument("--save", metavar="PLAN.json", help="write the plan here, for `sweep --plan`")
    plan.add_argument("--details", action="store_true", help="one row per digest instead of per repository")
    sweep = commands.add_parser("sweep", parents=[common], help="show the plan, then delete exactly what it showed")
    sweep.add_argument("--repository", action="append", help=pattern)
    sweep.add_argument("--plan", metavar="PLAN.json", help="delete only what this saved plan deletes")
    sweep.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sweep.add_argument("--details", action="store_true", help="one row per digest instead of per repository")
    explain = commands.add_parser("explain", parents=[common], help="why one digest is kept or deleted")
    explain.add_argument("repository")
    explain.add_argument("digest", help="a digest, or a unique prefix of at least 12 hex characters")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    view = View(args.output, details=getattr(args, "details", False))
    try:
        return run(args, view)
    except (KeyboardInterrupt, Interrupted):
        view.error("interrupted: nothing was deleted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except (UsageError, ConfigError, saved_plan.PlanRefused) as error:
        _fail(args, view, str(error), EXIT_USAGE)
        return EXIT_USAGE
    except AWS_ERRORS as error:
        setup = setup_problem(error, getattr(args, "endpoint_url", None))
        if setup is not None:
            _fail(args, view, setup, EXIT_USAGE)
            return EXIT_USAGE
        _fail(args, view, f"{type(error).__name__}: {error}", EXIT_FAILED)
        return EXIT_FAILED


@dataclass(frozen=True)
class Setup:
    settings: Settings
    clients: Clients
    regions: tuple[str, ...]
    account: str
    caller: str
    # The regions were given with --region: else the configured one, and the function's state
    # (the cursor) is the stack's own parameter, not a per-region one.
    named: bool = True


def run(args: argparse.Namespace, view: View) -> int:
    setup = _setup(args)
    if args.command == "explain":
        return explain(args, view, setup)
    if args.command == "sweep" and args.plan:
        if args.repository:
            raise UsageError("--plan and --repository exclude each other: the plan names its repositories")
        return sweep_saved(args, view, setup)
    as_of = parse_time(args.as_of) if getattr(args, "as_of", None) else None
    selected = _select(args, setup)
    reads = _manifest_reads(args, view, setup)
    planned = _sweep(view, setup, selected, reads, dry_run=True, as_of=as_of, what="planning")
    if planned.interrupted:
        raise Interrupted
    if args.command == "plan":
        view.show(planned, command="plan")
        if args.save:
            _save(args, view, setup, planned, as_of, reads)
        return _exit(planned)
    # One JSON document per command: a sweep that goes on to delete shows only its result.
    if view.output != "json":
        view.show(planned, command="sweep (plan)")
    approved = _approved(planned)
    count = saved_plan.count(approved)
    if count == 0:
        if view.output == "json":
            view.show(planned, command="sweep", extra={"approved": 0})
        view.say("Nothing to delete.")
        return _exit(planned)
    if not args.yes and not _confirm(view, f"Delete these {count} digest(s), and no other? [y/N] "):
        if view.output == "json":
            view.show(planned, command="sweep", extra={"approved": 0})
        view.say("Nothing deleted.")
        return _exit(planned)
    return _delete(args, view, setup, approved, reads)


def sweep_saved(args: argparse.Namespace, view: View, setup: Setup) -> int:
    """Delete what a saved plan deletes, and only what is still due."""
    path = Path(args.plan)
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"cannot read the plan {path}: {error.strerror}") from None
    saved = saved_plan.load(text, account=setup.account, regions=setup.regions, source=str(path))
    view.say(
        f"Plan {path}, made {saved.created_at:%Y-%m-%d %H:%M} UTC: {saved.digests} digest(s) to delete in "
        f"{', '.join(saved.regions)}. Each is checked again just before its delete."
    )
    if saved.digests == 0:
        view.nothing(command="sweep", approved=0)
        view.say("Nothing to delete.")
        return EXIT_OK
    if not args.yes and not _confirm(view, f"Delete these {saved.digests} digest(s), and no other? [y/N] "):
        view.nothing(command="sweep", approved=0)
        view.say("Nothing deleted.")
        return EXIT_OK
    return _delete(args, view, setup, saved.approved, _manifest_reads(args, view, setup))


def _delete(
    args: argparse.Namespace,
    view: View,
    setup: Setup,
    approved: Any,
    reads: dict[str, bool],
) -> int:
    try:
        done = _sweep(view, setup, None, reads, dry_run=False, approved=approved, what="deleting")
    except KeyboardInterrupt:
        view.error(
            "interrupted twice: stopped without waiting for the batch in flight; the deletions printed above "
            "happened, and `ecr-sweeper plan` shows what is left",
            EXIT_INTERRUPTED,
        )
        return EXIT_INTERRUPTED
    extra: dict[str, Any] = {"approved": saved_plan.count(approved)}
    if done.interrupted:
        deleted = [(region, name, verdict.image.digest) for region, name, verdict in done.verdicts(Action.DELETED)]
        swept = {(region, result.outcome.repository) for region, result in done.results}
        not_deleted = [
            (region, name, verdict.image.digest) for region, name, verdict in done.verdicts(Action.DEFERRED)
        ] + [
            (region, name, digest)
            for region, repositories in approved.items()
            for name, digests in repositories.items()
            if (region, name) not in swept
            for digest in digests
        ]
        extra |= {"deletedBeforeInterrupt": len(deleted), "notDeleted": len(not_deleted)}
        view.show(done, command="sweep", extra=extra)
        if view.output == "table":
            view.say(f"Interrupted. Deleted {len(deleted)} digest(s):")
            for line in listing(deleted):
                view.say(f"  {line}")
            view.say(f"Not deleted: {len(not_deleted)} digest(s) of the plan:")
            for line in listing(not_deleted):
                view.say(f"  {line}")
        return EXIT_INTERRUPTED
    view.show(done, command="sweep", extra=extra)
    return _exit(done)


def explain(args: argparse.Namespace, view: View, setup: Setup) -> int:
    """Every rule the planner checked for one digest, whether it applied, and the verdict (docs,
    "What ecr-sweeper will never delete"): the planner's own trace of a dry run of that repository."""
    wanted = args.digest.lower().removeprefix("sha256:")
    if not _HEX.fullmatch(wanted) or len(wanted) < SHORT_DIGEST or len(wanted) > 64:
        raise UsageError(
            f"digest {args.digest!r}: give the digest, or a prefix of at least {SHORT_DIGEST} hex characters "
            "(the plan's short digest)"
        )
    region = setup.regions[0]
    if len(setup.regions) > 1:
        raise UsageError("explain looks at one region: pass one --region")
    if args.repository not in runner.repository_names(setup.clients.in_region(region)):
        raise UsageError(f"repository {args.repository!r} does not exist in {region} (account {setup.account})")
    reads = _manifest_reads(args, view, setup)
    swept = _sweep(view, replace(setup, regions=(region,)),
                   {region: (args.repository,)}, reads, dry_run=True, trace=True, what="explaining")  # fmt: skip
    result = next((r for _, r in swept.results if r.outcome.repository == args.repository), None)
    if swept.interrupted:
        raise Interrupted
    if result is None:
        summary = swept.summaries[0]
        why = summary.error or summary.in_use_text
        view.error(f"{args.repository} was not swept: {why}", EXIT_FAILED)
        return EXIT_FAILED
    outcome = result.outcome
    why = f": {outcome.detail}" if outcome.detail else ""
    if not result.images:
        # Skipped (no retention tag in opt-in mode), an invalid tag, or failed: nothing is judged.
        view.error(f"{args.repository} is {outcome.status.value}{why}: none of its digests is judged", EXIT_FAILED)
        return EXIT_FAILED
    matches = sorted(d for d in result.images if d.removeprefix("sha256:").startswith(wanted))
    if not matches:
        view.error(f"no digest in {args.repository} starts with {wanted}", EXIT_FAILED)
        return EXIT_FAILED
    if len(matches) > 1:
        view.error(
            f"{wanted} is ambiguous in {args.repository}: it starts {', '.join(matches)}; give more characters",
            EXIT_FAILED,
        )
        return EXIT_FAILED
    [digest] = matches
    image = result.images[digest]
    rules = [{"rule": "retention", "applies": outcome.status.value == "swept",
              "detail": f"{outcome.retention} ({outcome.status.value}{why})"}]  # fmt: skip
    rules += [{"rule": c.rule, "applies": c.applies, "detail": c.detail} for c in result.trace.get(digest, ())]
    found = next((v for v in result.verdicts if v.image.digest == digest), None)
    if image.tags:
        verdict = {"action": "tagged", "reason": f"tagged: never judged ({', '.join(image.tags)})"}
    elif found is not None:
        verdict = {"action": found.action.value, "reason": found.reason}
    else:
        verdict = {"action": "none", "reason": f"{outcome.status.value}: not judged{why}"}
    if view.output in ("json", "jsonl"):
        view.line({"repository": args.repository, "digest": digest, "tags": list(image.tags), "rules": rules,
                    "verdict": verdict})  # fmt: skip
    else:
        out = view.out
        out.print(f"[bold]{args.repository}@{digest}[/]", soft_wrap=True)
        for rule in rules:
            mark = "[green]applies[/]" if rule["applies"] else "[dim]does not apply[/]"
            out.print(f"  {rule['rule']}: {mark} - {rule['detail']}", soft_wrap=True)
        out.print(f"[bold]verdict[/]: {verdict['action']} - {verdict['reason']}", soft_wrap=True)
    return _exit(swept)


# -- set-up -----------------------------------------------------------------------------------------


def _setup(args: argparse.Namespace) -> Setup:
    """Settings, clients, regions and who is calling, or a UsageError that says what to do.
    Nothing is swept before all of these are known."""
    settings = Settings.from_env({**os.environ, "POWERTOOLS_LOG_LEVEL": "DEBUG"})
    # pip may have given this laptop an older botocore than the function bundles.
    require_models()
    endpoint = args.endpoint_url
    if endpoint is not None and not re.match(r"https?://[^/]", endpoint):
        raise UsageError(f"--endpoint-url {endpoint!r} needs a scheme: for example http://{endpoint.split('://')[-1]}")
    clients = Clients(profile=args.profile, endpoint_url=endpoint)
    known = ecr_regions()
    for region in args.region or ():
        if region not in known:
            raise UsageError(f"--region {region!r} is not an ECR region")
    regions = tuple(dict.fromkeys(args.region or [clients.region_name or ""]))
    if regions == ("",):
        raise UsageError("no region: pass --region, or set AWS_REGION (or a region in your profile)")
    account, caller = clients.in_region(regions[0]).caller()
    return Setup(settings, clients, regions, account, caller, named=bool(args.region))


def _select(args: argparse.Namespace, setup: Setup) -> dict[str, tuple[str, ...]] | None:
    """Region -> the repositories the names and shell patterns match; None: every repository.
    A name or pattern that matches nothing in any region is an error, before anything is swept."""
    patterns = args.repository
    if not patterns:
        return None
    selected: dict[str, tuple[str, ...]] = {}
    unmatched = set(patterns)
    for region in setup.regions:
        names = runner.repository_names(setup.clients.in_region(region))
        hits = [name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
        unmatched -= {p for p in patterns if any(fnmatch.fnmatchcase(name, p) for name in names)}
        selected[region] = tuple(hits)
    if unmatched:
        first = sorted(unmatched)[0]
        where = f"{', '.join(setup.regions)} (account {setup.account})"
        if any(ch in first for ch in "*?["):
            raise UsageError(f"no repository matches {first!r} in {where}")
        raise UsageError(f"repository {first!r} does not exist in {where}")
    return selected


def _manifest_reads(args: argparse.Namespace, view: View, setup: Setup) -> dict[str, bool]:
    """Per region: whether to read untagged index manifests. Reading one records a pull unless
    the reader is a pull-time update exclusion, and a recorded pull keeps the index alive; so
    without the exclusion they are read only with --read-manifests, and either way it is said."""
    principal = principal_arn(setup.caller)
    reads = {}
    for region in setup.regions:
        try:
            excluded = is_excluded(setup.caller, runner.pull_time_exclusions(setup.clients.in_region(region)))
            unknown = ""
        except AWS_ERRORS as error:
            excluded, unknown = False, f" (could not list the exclusions: {describe_error(error)})"
        if excluded:
            reads[region] = True
            continue
        register = (
            f"aws ecr register-pull-time-update-exclusion --principal-arn {principal} --region {region}"
            if principal
            else "use a role or IAM user: only those can be excluded"
        )
        if args.read_manifests:
            view.warn(
                f"{region}: {setup.caller} is not a pull-time update exclusion{unknown}, so each index manifest "
                f"read now records a pull and keeps that index alive for its retention again. Register it once: "
                f"{register}"
            )
            reads[region] = True
        else:
            view.warn(
                f"{region}: {setup.caller} is not a pull-time update exclusion{unknown}, so untagged index manifests "
                "are not read (a read records a pull that keeps the index alive); what they list is unverified and "
                f"so marked. To read them: {register}, or pass --read-manifests"
            )
            reads[region] = False
    return reads


# -- sweeping -----------------------------------------------------------------------------------------


def _sweep(
    view: View,
    setup: Setup,
    selected: dict[str, tuple[str, ...]] | None,
    reads: dict[str, bool],
    *,
    dry_run: bool,
    what: str,
    as_of: datetime | None = None,
    approved: Any = None,
    trace: bool = False,
) -> Run:
    """One dry or real run over the regions in turn. Ctrl-C starts no new repository or delete
    batch; the batch in flight finishes, and the run returns what happened, marked interrupted."""
    collected = Collected(dry_run=dry_run, view=view)
    deadline = Deadline()
    summaries = []
    with _interruptible(view, deadline), view.progress(what):
        for region in setup.regions:
            if deadline.stopped.is_set():
                break
            if selected is not None and not selected.get(region):
                continue
            options = RunOptions(
                dry_run=dry_run,
                repositories=selected[region] if selected is not None else None,
                as_of=as_of,
                trace=trace,
                approved=approved,
                read_untagged_indexes=reads.get(region, True),
            )

            def listener(name: str | None) -> Collected:
                collected.region = name
                return collected

            summaries.append(
                runner.sweep(
                    setup.settings,
                    options,
                    listener=listener,
                    clients=setup.clients,
                    regions=(region if setup.named else None,),
                    deadline=deadline,
                )
            )
    flat = [s for summary in summaries for s in (summary.regions or [summary])]
    return Run(flat, collected, interrupted=deadline.stopped.is_set())


@contextmanager
def _interruptible(view: View, deadline: Deadline) -> Iterator[None]:
    """The first Ctrl-C stops the sweep at the next safe point; a second one stops at once."""

    def stop(signum: int, frame: Any) -> None:
        if deadline.stopped.is_set():
            raise KeyboardInterrupt
        deadline.stop()
        view.say("Interrupted: no new delete batch starts; the one in flight finishes. Ctrl-C again to stop now.")

    try:
        previous = signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread: no signal handling there
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _approved(run: Run) -> dict[str | None, dict[str, dict[str, Image]]]:
    """The plan that was shown, as the only digests the answer approves."""
    approved: dict[str | None, dict[str, dict[str, Image]]] = {}
    for region, repository, verdict in run.verdicts(Action.WOULD_DELETE):
        approved.setdefault(region, {}).setdefault(repository, {})[verdict.image.digest] = verdict.image
    return approved


def _save(
    args: argparse.Namespace, view: View, setup: Setup, planned: Run, as_of: datetime | None, reads: dict[str, bool]
) -> None:
    settings = setup.settings
    document = saved_plan.document(
        planned.results,
        account=setup.account,
        regions=setup.regions,
        created_at=datetime.now(timezone.utc),
        as_of=as_of,
        settings={
            "retentionTagKey": settings.retention_tag_key,
            "defaultRetention": settings.default_retention_text,
            "protectInUse": settings.protect_in_use,
            "eksClustersIgnored": sorted(settings.eks_clusters_ignored),
            "inspectorInUse": settings.inspector_in_use,
            "readUntaggedIndexes": reads,
        },
        tool=f"ecr-sweeper {version_text()}",
    )
    path = Path(args.save)
    try:
        path.write_text(json.dumps(document, indent=1) + "\n")
    except OSError as error:
        raise UsageError(f"cannot write the plan to {path}: {error.strerror}") from None
    count = sum(1 for _, _, _ in planned.verdicts(Action.WOULD_DELETE))
    view.say(
        f"Saved the plan to {path}: {count} digest(s) to delete. Delete exactly these: ecr-sweeper sweep --plan {path}"
    )


def _exit(run: Run) -> int:
    return EXIT_FAILED if run.failed else EXIT_OK


def _confirm(view: View, question: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError("refusing to delete without confirmation: stdin is not a terminal; pass --yes")
    view.err.print(question, end="", markup=False)
    return input().strip().lower() in ("y", "yes")


def _fail(args: argparse.Namespace, view: View, message: str, code: int) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc()
    view.error(message, code)


if __name__ == "__main__":
    sys.exit(main())
