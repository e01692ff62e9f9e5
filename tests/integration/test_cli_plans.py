"""Given a saved plan (`ecr-sweeper plan --save`), when `ecr-sweeper sweep --plan` runs, then it
deletes only digests the plan deletes, and of those only the ones still untagged, not in use and
due at the re-check; a digest that was not in the plan is never deleted. The interactive `sweep`
approves exactly the plan it showed. A plan from another account, region or format is refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ecr_sweeper.cli import main
from ecr_sweeper.core.saved_plan import FORMAT, VERSION
from emulator.ecr import add_tag, set_image_times
from emulator.seed import create_repository
from tests.integration.images import ago, digests, untagged


@pytest.fixture
def registry(ecr: Any) -> dict[str, str]:
    """team/api, retention 3 days: four expired untagged digests and a young one."""
    create_repository(ecr, "team/api", "3")
    return {
        "expired": untagged(ecr, "team/api", "expired", 10),
        "tagged-later": untagged(ecr, "team/api", "tagged-later", 10),
        "pulled-later": untagged(ecr, "team/api", "pulled-later", 10),
        "gone-later": untagged(ecr, "team/api", "gone-later", 10),
        "young": untagged(ecr, "team/api", "young", 1),
    }


def saved(capsys: Any, path: Path, *extra: str) -> dict[str, Any]:
    assert main(["plan", "--save", str(path), *extra]) == 0
    capsys.readouterr()
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def records(capsys: Any) -> dict[str, dict[str, Any]]:
    out = capsys.readouterr().out
    return {r["digest"]: r for r in json.loads(out)["records"] if r.get("record_type") == "verdict"}


def test_a_saved_plan_holds_the_verdicts_regions_time_account_and_settings(
    ecr: Any, registry: dict[str, str], capsys: Any, tmp_path: Path
) -> None:
    # Given the registry

    # When the plan is saved
    document = saved(capsys, tmp_path / "plan.json")

    # Then the file says what it is, where, when, with which settings, and every verdict with its reason
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert document["account"] == "123456789012" and document["regions"] == ["us-east-1"]
    assert datetime.fromisoformat(document["createdAt"]) > datetime.now(timezone.utc) - timedelta(minutes=5)
    assert document["settings"]["retentionTagKey"] == "ecr-sweeper:retention-days"
    [repository] = document["repositories"]
    verdicts = {v["digest"]: v for v in repository["verdicts"]}
    assert verdicts[registry["expired"]]["action"] == "would_delete"
    assert verdicts[registry["expired"]]["reason"].startswith("expired: pushed 10d ago")
    assert verdicts[registry["young"]]["action"] == "kept"
    assert len(digests(ecr, "team/api")) == 5, "saving a plan deletes nothing"


def test_sweep_with_a_plan_deletes_only_what_is_still_due_and_says_why_not(
    ecr: Any, registry: dict[str, str], capsys: Any, tmp_path: Path
) -> None:
    # Given a saved plan that deletes the four expired digests
    path = tmp_path / "plan.json"
    saved(capsys, path)
    # ... and, since, one of them was tagged, one pulled, one deleted by someone else, and a new
    # expired digest appeared that the plan never saw
    add_tag("team/api", registry["tagged-later"], "hotfix")
    set_image_times("team/api", registry["pulled-later"], last_pulled_at=datetime.now(timezone.utc))
    ecr.batch_delete_image(repositoryName="team/api", imageIds=[{"imageDigest": registry["gone-later"]}])
    unseen = untagged(ecr, "team/api", "unseen", 10)

    # When the plan is swept
    code = main(["sweep", "--plan", str(path), "--yes", "--output", "json"])

    # Then only the digest still due is deleted, and each other planned one says why it was not
    assert code == 0
    verdicts = records(capsys)
    assert digests(ecr, "team/api") == {registry["tagged-later"], registry["pulled-later"], registry["young"], unseen}
    assert verdicts[registry["expired"]]["action"] == "deleted"
    assert verdicts[registry["tagged-later"]]["reason"] == "in the approved plan, tagged hotfix since"
    assert verdicts[registry["pulled-later"]]["reason"].startswith("in the approved plan, not due now: pulled recently")
    assert verdicts[registry["gone-later"]]["action"] == "gone"
    assert verdicts[unseen]["action"] == "kept"
    assert verdicts[unseen]["reason"].startswith("not in the approved plan")


def test_a_digest_that_expires_between_plan_and_sweep_is_not_deleted(
    ecr: Any, registry: dict[str, str], capsys: Any, tmp_path: Path
) -> None:
    # Given a saved plan in which the young digest is kept, which has since expired
    path = tmp_path / "plan.json"
    saved(capsys, path)
    set_image_times("team/api", registry["young"], pushed_at=ago(10))

    # When the plan is swept
    code = main(["sweep", "--plan", str(path), "--yes", "--output", "json"])

    # Then the newly expired digest is kept: the plan did not approve it
    assert code == 0
    assert registry["young"] in digests(ecr, "team/api")
    assert records(capsys)[registry["young"]]["reason"].startswith("not in the approved plan")


def test_the_answer_approves_the_plan_that_was_shown_and_nothing_else(
    ecr: Any, registry: dict[str, str], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a person who reads the plan for a while: meanwhile the young digest expires
    def answer(*_: Any) -> str:
        set_image_times("team/api", registry["young"], pushed_at=ago(10))
        return "y"

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", answer)

    # When the interactive sweep asks and is answered yes
    code = main(["sweep"])

    # Then it deleted the four digests it showed, not the one that expired while it waited
    assert code == 0
    err = capsys.readouterr().err
    assert "Delete these 4 digest(s), and no other? [y/N]" in err
    assert digests(ecr, "team/api") == {registry["young"]}


def test_a_plan_that_approves_a_child_keeps_it_while_its_index_is_kept(ecr: Any, capsys: Any, tmp_path: Path) -> None:
    # Given an expired child the plan deletes, and an index over it pushed after the plan
    from emulator.seed import push_index

    create_repository(ecr, "multi", "3")
    child = untagged(ecr, "multi", "child", 10)
    path = tmp_path / "plan.json"
    saved(capsys, path)
    index = push_index(ecr, "multi", [child], pushed_at=ago(10))

    # When the plan is swept
    code = main(["sweep", "--plan", str(path), "--yes", "--output", "json"])

    # Then the index, not in the plan, is kept, and it protects its child
    assert code == 0
    assert digests(ecr, "multi") == {child, index}
    verdicts = records(capsys)
    assert verdicts[index]["reason"].startswith("not in the approved plan")
    assert verdicts[child]["reason"] == f"in the approved plan, not due now: child of kept index {index}"


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        ({"account": "999999999999"}, (), "planned in account 999999999999; these credentials are for account"),
        ({}, ("--region", "eu-west-1"), "planned for region(s) us-east-1; this sweep is for eu-west-1"),
        ({"version": 2}, (), "format version 2; this ecr-sweeper reads version 1"),
        ({"format": "terraform"}, (), "is not a saved plan"),
        ({"asOf": "2026-12-24T03:00:00+00:00"}, (), "is a forecast"),
    ],
)
def test_a_plan_from_elsewhere_or_of_another_format_is_refused_with_exit_2(
    ecr: Any,
    registry: dict[str, str],
    capsys: Any,
    tmp_path: Path,
    change: dict[str, Any],
    args: tuple[str, ...],
    message: str,
) -> None:
    # Given a saved plan, then changed
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(saved(capsys, path) | change))

    # When it is swept
    code = main(["sweep", "--plan", str(path), "--yes", *args])

    # Then it is refused in one line, and nothing is deleted
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert len(digests(ecr, "team/api")) == 5


def test_a_file_that_is_not_json_is_refused_with_exit_2(ecr: Any, capsys: Any, tmp_path: Path) -> None:
    # Given a file that is not a plan
    path = tmp_path / "plan.json"
    path.write_text("plan: yes\n")

    # When it is swept
    code = main(["sweep", "--plan", str(path), "--yes"])

    # Then it is refused, naming the file
    assert code == 2 and f"{path} is not a saved plan" in capsys.readouterr().err


def test_declining_a_saved_plan_deletes_nothing_and_still_prints_one_json_document(
    ecr: Any, registry: dict[str, str], capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a saved plan, and a person who answers no
    path = tmp_path / "plan.json"
    saved(capsys, path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda *_: "n")

    # When the plan is swept with JSON output
    code = main(["sweep", "--plan", str(path), "--output", "json"])

    # Then nothing is deleted, the question went to stderr, and stdout is one document that says so
    out, err = capsys.readouterr()
    assert code == 0 and "Delete these 4 digest(s)" in err
    document = json.loads(out)
    assert document["approved"] == 0 and document["totals"]["digests"] == 0
    assert len(digests(ecr, "team/api")) == 5
