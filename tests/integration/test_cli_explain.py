"""Given a repository, when `ecr-sweeper explain` is asked about a digest by its full value or by a
prefix of at least 12 hex characters (the tables' short digest), with or without `sha256:`, then it
shows the planner's trace for the one digest that matches; an ambiguous or unknown prefix exits 1,
and a tagged digest is "tagged: never judged"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_sweeper.cli import main
from emulator.ecr import _find, backend
from emulator.seed import create_repository, push
from tests.integration.images import ago, untagged


@pytest.fixture
def app(ecr: Any) -> dict[str, str]:
    create_repository(ecr, "app", "3")
    return {
        "old": untagged(ecr, "app", "old", 10),
        "young": untagged(ecr, "app", "young", 1),
        "release": push(ecr, "app", "release", tag="v1", pushed_at=ago(30)),
    }


def explain(capsys: Any, digest: str, *args: str) -> tuple[int, str, str]:
    code = main(["explain", "app", digest, *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("form", ["full", "12 hex", "sha256: and 12 hex", "20 hex"])
def test_a_unique_prefix_explains_its_digest(app: dict[str, str], capsys: Any, form: str) -> None:
    # Given the expired digest, named in one of the accepted forms
    digest = app["old"]
    given = {"full": digest, "12 hex": digest[7:19], "sha256: and 12 hex": digest[:19], "20 hex": digest[7:27]}[form]

    # When it is explained
    code, out, _ = explain(capsys, given, "--output", "json")

    # Then the full digest is explained, with the planner's verdict
    document = json.loads(out)
    assert code == 0 and document["digest"] == digest
    assert document["verdict"]["action"] == "would_delete"


def test_a_tagged_digest_is_never_judged_and_its_tags_are_shown(app: dict[str, str], capsys: Any) -> None:
    # Given a tagged image

    # When it is explained
    code, out, _ = explain(capsys, app["release"][7:19])

    # Then it says so, with its tags
    assert code == 0
    assert "verdict: tagged - tagged: never judged (v1)" in out


def test_an_ambiguous_prefix_exits_1_with_the_candidates(app: dict[str, str], capsys: Any) -> None:
    # Given two digests that share their first 12 hex characters (no real pair is known: the
    # emulator's second image is given a digest that starts like the first)
    shared = app["old"][:19] + "f" * 52
    assert shared != app["old"]
    _find(backend()._get_repository("app"), app["young"])._image_digest = shared

    # When the shared prefix is explained
    code, _, err = explain(capsys, app["old"][7:19])

    # Then it exits 1 and names both candidates
    assert code == 1 and "is ambiguous" in err
    assert app["old"] in err and shared in err


def test_a_prefix_that_matches_nothing_exits_1(app: dict[str, str], capsys: Any) -> None:
    # Given no digest that starts with 12 zeros

    # When it is explained
    code, _, err = explain(capsys, "0" * 12)

    # Then it exits 1 and says so
    assert code == 1 and "no digest in app starts with 000000000000" in err


@pytest.mark.parametrize("given", ["abc123", "sha256:abc", "not-hex-at-all!"])
def test_a_prefix_shorter_than_12_hex_is_bad_usage(app: dict[str, str], capsys: Any, given: str) -> None:
    # Given a prefix too short to be unique in practice, or no hex at all

    # When it is explained
    code, _, err = explain(capsys, given)

    # Then it is refused as bad usage, saying what to give
    assert code == 2 and "at least 12 hex characters" in err
