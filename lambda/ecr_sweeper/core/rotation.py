"""Rotation, pure: the order a run starts repositories in (sorted names from where the last real run
stopped, wrapping around), and the position a run records for the next one: where it starts, and the
range of names this run never started (two runs in a row leaving a name out: RepositoriesStarved)."""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


def rotate(names: Sequence[str], start: str) -> list[str]:
    """Sorted names, beginning with the first name at or after `start` and wrapping around.

    A start that no longer exists (the repository was deleted) still lands where it would have been.
    """
    ordered = sorted(names)
    index = bisect.bisect_left(ordered, start) if start else 0
    return ordered[index:] + ordered[:index]


@dataclass(frozen=True)
class Position:
    """Where a run starts, and which repositories the run before it did not start."""

    start: str = ""
    # The repositories a run never started are the tail of its rotation: from the first of them,
    # wrapping around, up to (not including) the repository it started with. Stored as that
    # (from, until) pair of names, so that the record stays small for any number of repositories.
    not_started: tuple[str, str] | None = None

    def left_unstarted(self, name: str) -> bool:
        if self.not_started is None:
            return False
        first, until = self.not_started
        if first == until:
            # The run started nothing at all.
            return True
        if first < until:
            return first <= name < until
        return name >= first or name < until

    def encode(self) -> str | None:
        if not self.start and self.not_started is None:
            return None
        value: dict[str, Any] = {"start": self.start}
        if self.not_started is not None:
            value["notStarted"] = list(self.not_started)
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str | None) -> Position:
        """A recorded position; a plain repository name (the record of earlier versions) is a start."""
        if not value:
            return cls()
        if not value.startswith("{"):
            return cls(start=value)
        data = json.loads(value)
        pair = data.get("notStarted")
        return cls(
            start=str(data.get("start") or ""),
            not_started=(str(pair[0]), str(pair[1])) if isinstance(pair, list) and len(pair) == 2 else None,
        )


class CursorStore(Protocol):
    def load(self) -> Position: ...

    def save(self, position: Position) -> None: ...


class NoCursor:
    """No place to remember where to start: every run starts at the first repository."""

    def load(self) -> Position:
        return Position()

    def save(self, position: Position) -> None:
        return None
