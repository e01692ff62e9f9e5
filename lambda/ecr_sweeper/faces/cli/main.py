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
import json
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ecr_sweeper.core import saved_plan
from ecr_sweeper.core.model import Action, Image
from ecr_sweeper.core.settings import ConfigError, parse_time
from ecr_sweeper.faces.cli.arguments import parser, version_text
from ecr_sweeper.faces.cli.explain import explain
from ecr_sweeper.faces.cli.session import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Interrupted,
    Setup,
    UsageError,
    exit_code,
    manifest_reads,
    select,
    set_up,
    sweep,
)
from ecr_sweeper.faces.cli.views import Run, View
from ecr_sweeper.run import runner


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
    except runner.AWS_ERRORS as error:
        setup = runner.setup_problem(error, getattr(args, "endpoint_url", None))
        if setup is not None:
            _fail(args, view, setup, EXIT_USAGE)
            return EXIT_USAGE
        _fail(args, view, f"{type(error).__name__}: {error}", EXIT_FAILED)
        return EXIT_FAILED


def run(args: argparse.Namespace, view: View) -> int:
    setup = set_up(args)
    if args.command == "explain":
        return explain(args, view, setup)
    if args.command == "sweep" and args.plan:
        if args.repository:
            raise UsageError("--plan and --repository exclude each other: the plan names its repositories")
        return sweep_saved(args, view, setup)
    as_of = parse_time(args.as_of) if getattr(args, "as_of", None) else None
    selected = select(args, setup)
    reads = manifest_reads(args, view, setup)
    planned = sweep(view, setup, selected, reads, dry_run=True, as_of=as_of, what="planning")
    if planned.interrupted:
        raise Interrupted
    if args.command == "plan":
        view.show(planned, command="plan")
        if args.save:
            _save(args, view, setup, planned, as_of, reads)
        return exit_code(planned)
    # One JSON document per command: a sweep that goes on to delete shows only its result.
    if view.output != "json":
        view.show(planned, command="sweep (plan)")
    approved = _approved(planned)
    count = saved_plan.count(approved)
    if count == 0:
        if view.output == "json":
            view.show(planned, command="sweep", extra={"approved": 0})
        view.say("Nothing to delete.")
        return exit_code(planned)
    if not args.yes and not _confirm(view, f"Delete these {count} digest(s), and no other? [y/N] "):
        if view.output == "json":
            view.show(planned, command="sweep", extra={"approved": 0})
        view.say("Nothing deleted.")
        return exit_code(planned)
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
    return _delete(args, view, setup, saved.approved, manifest_reads(args, view, setup))


def _delete(
    args: argparse.Namespace,
    view: View,
    setup: Setup,
    approved: Any,
    reads: dict[str, bool],
) -> int:
    try:
        done = sweep(view, setup, None, reads, dry_run=False, approved=approved, what="deleting")
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
        view.interrupted(done, deleted, not_deleted, extra)
        return EXIT_INTERRUPTED
    view.show(done, command="sweep", extra=extra)
    return exit_code(done)


# -- set-up -----------------------------------------------------------------------------------------


# -- sweeping -----------------------------------------------------------------------------------------


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
