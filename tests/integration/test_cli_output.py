"""Given an emulated registry, when the command-line tool plans or sweeps with table, json or jsonl
output, then stdout holds only the output (one JSON document, JSON lines, or tables that fit the
terminal), prompts go to stderr, and sizes are decimal."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import boto3
import pytest

from ecr_sweeper.cli import main
from emulator.identity import OWN
from emulator.seed import create_repository, push_index
from tests.integration.images import SIZE, ago, digests, untagged

LONG = "a-very-long-team-name/with-a-very-long-service-name"
ROW_START = re.compile(r"[0-9a-f]{12}\b")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


@pytest.fixture
def expired(ecr: Any) -> dict[str, str]:
    """One repository with two expired digests and a young one."""
    create_repository(ecr, "team/api", "3")
    return {
        "old": untagged(ecr, "team/api", "old", 10),
        "older": untagged(ecr, "team/api", "older", 20),
        "young": untagged(ecr, "team/api", "young", 1),
    }


# -- json -----------------------------------------------------------------------------------------


def test_sweep_json_prints_exactly_one_document(ecr: Any, expired: dict[str, str], capsys: Any) -> None:
    # Given a repository with two expired digests

    # When the tool sweeps without asking, with JSON output
    code, out, _ = cli(capsys, "sweep", "--yes", "--output", "json")

    # Then stdout is one JSON document of the sweep, and nothing else
    assert code == 0
    document = json.loads(out)
    assert document["command"] == "sweep"
    assert document["totals"]["digests"] == 2
    assert isinstance(document["records"], list) and document["records"]
    assert "Delete these" not in out and "[y/N]" not in out
    assert digests(ecr, "team/api") == {expired["young"]}


def test_sweep_json_asks_on_stderr(
    ecr: Any, expired: dict[str, str], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a repository with two expired digests, and a terminal where the operator answers y
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda *_: "y")

    # When the tool sweeps with JSON output, asking first
    code, out, err = cli(capsys, "sweep", "--output", "json")

    # Then the question is on stderr, and stdout is still one JSON document
    assert code == 0
    assert "Delete these 2 digest(s), and no other? [y/N]" in err
    assert "Delete these" not in out and "[y/N]" not in out
    document = json.loads(out)
    assert document["command"] == "sweep" and document["totals"]["digests"] == 2
    assert digests(ecr, "team/api") == {expired["young"]}


# -- jsonl ----------------------------------------------------------------------------------------


def test_sweep_jsonl_streams_each_deletion_once(ecr: Any, expired: dict[str, str], capsys: Any) -> None:
    # Given a repository with two expired digests

    # When the tool sweeps without asking, with JSON lines
    code, out, _ = cli(capsys, "sweep", "--yes", "--output", "jsonl")

    # Then every line is a JSON object; each deletion is one verdict line; the totals come last
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all(isinstance(line, dict) for line in lines)
    deleted = [line["digest"] for line in lines if line.get("type") == "verdict" and line.get("action") == "deleted"]
    assert sorted(deleted) == sorted({expired["old"], expired["older"]}), "each deleted digest once, only once"
    assert lines[-1]["type"] == "totals"
    assert lines[-1]["digests"] == 2
    assert digests(ecr, "team/api") == {expired["young"]}


# -- tables ---------------------------------------------------------------------------------------


def test_each_row_names_its_region_and_the_totals_count_both(ecr: Any, capsys: Any) -> None:
    # Given one repository with an expired digest in us-east-1, and one in eu-west-1
    create_repository(ecr, "east", "3")
    east = untagged(ecr, "east", "east", 10)
    europe = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    create_repository(europe, "west", "3")
    west = untagged(europe, "west", "west", 10, region="eu-west-1")

    # When the tool plans both regions
    code, out, _ = cli(capsys, "plan", "--region", "us-east-1", "--region", "eu-west-1")

    # Then each repository's row starts with its region, and the totals count both
    assert code == 0
    rows = {
        line.split()[1]: line.split()[0]
        for line in out.splitlines()
        if line.split()[:1] in (["us-east-1"], ["eu-west-1"])
    }
    assert rows == {"east": "us-east-1", "west": "eu-west-1"}
    assert "Total to delete: 2 digest(s), 64.0 MB" in out
    assert digests(ecr, "east") == {east} and digests(europe, "west") == {west}, "a plan deletes nothing"


def test_sizes_are_decimal(ecr: Any, capsys: Any) -> None:
    # Given one expired image of 32,000,000 bytes (its two layers)
    create_repository(ecr, "team/api", "3")
    digest = untagged(ecr, "team/api", "old", 10)

    # When the tool plans, as JSON and as tables
    _, document, _ = cli(capsys, "plan", "--output", "json")
    _, table, _ = cli(capsys, "plan")
    _, details, _ = cli(capsys, "plan", "--details")

    # Then the record has the size in bytes, and the tables show it in MB (powers of 1,000)
    [record] = [r for r in json.loads(document)["records"] if r.get("digest") == digest]
    assert record["size_bytes"] == SIZE == 32_000_000
    assert "Total to delete: 1 digest(s), 32.0 MB" in table
    [row] = [line for line in table.splitlines() if line.split()[1:2] == ["team/api"]]
    assert row.rstrip().endswith("32.0 MB")
    [row] = [line for line in details.splitlines() if line.startswith(short(digest))]
    assert "32.0 MB" in row
    for text in (table, details):
        assert not re.search(r"\b[KMGT]iB\b", text), "binary units"


@pytest.fixture
def wordy(ecr: Any) -> dict[str, str]:
    """A repository with a long name, and digests whose reasons are long."""
    create_repository(ecr, LONG, "3")
    child = untagged(ecr, LONG, "child", 30, last_pulled_at=ago(20))
    return {
        "pulled": untagged(ecr, LONG, "pulled", 30, last_pulled_at=ago(20)),
        "recent": untagged(ecr, LONG, "recent", 30, last_pulled_at=ago(1)),
        "old": untagged(ecr, LONG, "old", 30),
        "young": untagged(ecr, LONG, "young", 1),
        "child": child,
        "index": push_index(ecr, LONG, [child], tag="v1", pushed_at=ago(30)),
    }


def _table_rows(out: str) -> list[list[str]]:
    """The body rows of the repository tables, each as its lines: a row starts at a line with a
    value in the status column (a fixed column, never folded), and continues up to the next such
    line, a blank line, the next table or the totals."""
    rows: list[list[str]] = []
    status: int | None = None
    current: list[str] | None = None
    for line in out.splitlines():
        if "repository" in line and " status " in line:
            status = line.index(" status ") + 1
            continue
        if status is None or line.strip().startswith("─"):
            continue
        if not line.strip() or line.startswith(("Total", "region ")):
            status = current = None
        elif line[status : status + len("status")].strip():
            current = [line]
            rows.append(current)
        elif current is not None:
            current.append(line)
    return rows


def _detail_rows(out: str) -> list[list[str]]:
    """The rows of the --details tables: a row starts with 12 hex and continues on the indented
    lines after it, up to a blank or non-indented line."""
    rows: list[list[str]] = []
    current: list[str] | None = None
    for line in out.splitlines():
        if ROW_START.match(line):
            current = [line]
            rows.append(current)
        elif current is not None and line.strip() and line.startswith(" "):
            current.append(line)
        else:
            current = None
    return rows


def test_tables_fit_80_columns(ecr: Any, wordy: dict[str, str], capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a terminal 80 columns wide, a long repository name and long reasons
    monkeypatch.setenv("COLUMNS", "80")

    # When the tool plans, per repository and per digest
    _, table, _ = cli(capsys, "plan")
    _, details, _ = cli(capsys, "plan", "--details")

    # Then no line is wider than 80 columns, and each row takes at most two lines
    for out in (table, details):
        too_wide = [line for line in out.splitlines() if len(line) > 80]
        assert too_wide == []
    rows = _table_rows(table)
    assert len(rows) == 1 and rows[0][0].startswith("us-east-1 a-very-")
    assert all(len(row) <= 2 for row in rows), rows
    rows = _detail_rows(details)
    untagged_digests = {short(d) for name, d in wordy.items() if name != "index"}
    assert {row[0][:12] for row in rows} == untagged_digests
    assert all(len(row) <= 2 for row in rows), rows
    assert any(len(row) == 2 for row in rows), "a long reason folds to a second line"


# -- details of a sweep -----------------------------------------------------------------------------


def test_sweep_details_shows_the_deleted_digests(ecr: Any, expired: dict[str, str], capsys: Any) -> None:
    # Given a repository with two expired digests

    # When the tool sweeps without asking, with --details
    code, out, _ = cli(capsys, "sweep", "--yes", "--details")

    # Then the final table has each deleted digest with the verdict deleted
    assert code == 0
    final = out[out.rindex("team/api (") :]
    rows = {line[:12]: line for line in final.splitlines() if ROW_START.match(line)}
    for name in ("old", "older"):
        assert rows[short(expired[name])].split()[4] == "deleted"
    assert rows[short(expired["young"])].split()[4] == "kept"
    assert digests(ecr, "team/api") == {expired["young"]}
