"""The command line's arguments: global options accepted before or after the command, as with the AWS
CLI, and the three commands."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version
from typing import Any


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
