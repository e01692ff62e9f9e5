"""The function's records: the ones its log level hides are not rendered, the others are the same
values either way, and Powertools writes our sentences as they are."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timezone
from typing import Any

from ecr_sweeper.core.model import Action, DeleteFailure, Image, Protection, Verdict
from ecr_sweeper.core.outcome import IndexesNotRead, RepositoryOutcome, RepositoryResult
from ecr_sweeper.run import observability
from ecr_sweeper.run.records import Record, repository_records
from ecr_sweeper.run.report import LogReporter, Recorder

PUSHED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def image(n: int) -> Image:
    return Image(digest=f"sha256:{n:064x}", tags=(), pushed_at=PUSHED, size_bytes=10)


def a_repository() -> RepositoryResult:
    result = RepositoryResult(RepositoryOutcome("app"))
    result.verdict(Verdict(image(1), Action.KEPT, "not expired: pushed 1d ago, retention 7d", Protection.AGE))
    result.verdict(Verdict(image(2), Action.DELETED, "expired: pushed 30d ago, no pull recorded, retention 7d"))
    result.verdict(Verdict(image(3), Action.KEPT, "re-check: tagged hotfix since the plan", late=True))
    result.verdict(
        Verdict(image(4), Action.DELETE_FAILED, "expired", failure=DeleteFailure(image(4).digest, "KmsError", "no"))
    )
    result.notice(IndexesNotRead((image(5).digest,)))
    return result


class ListLogger:
    """A logger at a level, keeping what it is asked to write."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.written: list[tuple[int, str, dict[str, Any]]] = []

    def isEnabledFor(self, level: int) -> bool:
        return level >= self.level

    def thread_safe_remove_keys(self, keys: list[str]) -> None:
        return None

    def log(self, level: int, message: str, *, extra: dict[str, Any], exc_info: Any) -> None:
        self.written.append((level, message, extra))


def test_records_a_level_hides_are_not_rendered_and_the_others_are_unchanged() -> None:
    # Given a repository's verdicts and notices
    result = a_repository()

    # When its records are rendered for a reader at INFO, and for one that reads everything
    at_info = repository_records(result, dry_run=False, preview=None, wanted=lambda level: level >= logging.INFO)
    every = repository_records(result, dry_run=False, preview=None)

    # Then the plan's keep (DEBUG) is left out, and every other record is the same value, in order
    levels = [logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING, logging.WARNING, logging.INFO]
    assert [r.level for r in every] == levels
    assert at_info == [record for record in every if record.level >= logging.INFO]
    assert [r.extra.get("digest") for r in at_info][:3] == [image(2).digest, image(3).digest, image(4).digest]
    assert at_info[-1].extra["record_type"] == "repository_summary"


def test_the_log_reporter_writes_what_its_logger_enables() -> None:
    # Given the function's reporter over a logger at INFO, and one at DEBUG
    info, debug = ListLogger(logging.INFO), ListLogger(logging.DEBUG)

    # When each is told the repository is done
    LogReporter(dry_run=False, logger=info).repository_done(a_repository())
    LogReporter(dry_run=False, logger=debug).repository_done(a_repository())

    # Then the INFO one got no DEBUG record, and the DEBUG one got the keep too
    assert [extra.get("digest") for _, _, extra in info.written if extra["record_type"] == "verdict"] == [
        image(2).digest,
        image(3).digest,
        image(4).digest,
    ]
    assert all(level >= logging.INFO for level, _, _ in info.written)
    assert [extra.get("digest") for _, _, extra in debug.written if extra["record_type"] == "verdict"] == [
        image(n).digest for n in (1, 2, 3, 4)
    ]


def test_the_command_line_recorder_keeps_every_record() -> None:
    # Given the command line's recorder
    recorder = Recorder(dry_run=False)

    # When it is told a repository is done
    recorder.repository_done(a_repository())

    # Then it keeps every verdict, also the plan's keep, in order
    assert [r.get("digest") for r in recorder.records if r["record_type"] == "verdict"] == [
        image(n).digest for n in (1, 2, 3, 4)
    ]


def test_powertools_writes_a_sentence_as_it_is_and_a_json_object_as_an_object() -> None:
    # Given the function's logger, writing to a buffer
    buffer = io.StringIO()
    handler = observability.logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        # When it writes one of our sentences, and a message that is a JSON object
        LogReporter(dry_run=False, logger=observability.logger).write(
            Record(logging.WARNING, "skipped app: retention tag x='2' is invalid; nothing deleted", {"a": 1})
        )
        observability.logger.warning('{"already": "structured"}')
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]

    # Then the sentence is the message, unchanged, and the object is decoded, as Powertools does
    sentence, structured = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert sentence["message"] == "skipped app: retention tag x='2' is invalid; nothing deleted"
    assert sentence["a"] == 1
    assert structured["message"] == {"already": "structured"}
