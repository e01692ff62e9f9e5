"""When to stop: the invocation's deadline.

One invocation has at most 15 minutes. The sweep stops starting repositories when too little time
is left to finish one safely, and never starts a delete batch it cannot finish; the next run
starts where this one stopped (cursor.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Room to finish a repository that is started now: listing, planning, a few delete waves, each
# call with botocore's retries. A repository that needs more is cut at the batch margin below.
START_MARGIN_S = 120.0
# Room for one batch: the re-check (DescribeImages) and BatchDeleteImage, retried under throttling.
BATCH_MARGIN_S = 30.0
# Room to stop the in-use scan cleanly: write back the facts it read (the in-use cache), say why it
# stopped, and return before the invocation ends. A scan that reaches it fails closed (in_use.py).
SCAN_MARGIN_S = 30.0


@dataclass(frozen=True)
class Deadline:
    # Milliseconds left in this invocation (LambdaContext.get_remaining_time_in_millis); None: no limit.
    remaining_ms: Callable[[], int] | None = None
    start_margin_s: float = START_MARGIN_S
    batch_margin_s: float = BATCH_MARGIN_S
    scan_margin_s: float = SCAN_MARGIN_S
    # Set by a person (Ctrl-C on the command line): start no repository and no batch from now on;
    # the batch in flight finishes, since a BatchDeleteImage call cannot be taken back halfway.
    stopped: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def of(cls, context: Any) -> Deadline:
        """The deadline of a Lambda context; none for a context without a usable clock (a local run,
        a test double), so that the sweep is never cut by a value that is not a time."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return cls(remaining if callable(remaining) else None)

    def _left_s(self) -> float:
        if self.remaining_ms is None:
            return float("inf")
        try:
            left = self.remaining_ms()
        except Exception:  # noqa: BLE001 - a broken clock means no deadline, not a failed sweep
            return float("inf")
        if isinstance(left, bool) or not isinstance(left, int | float):
            return float("inf")
        return left / 1000

    def stop(self) -> None:
        self.stopped.set()

    @property
    def why(self) -> str:
        """What cut the sweep short, as the records say it."""
        return "interrupted" if self.stopped.is_set() else "deadline"

    @property
    def leaves(self) -> str:
        """What becomes of the work it cut: the next run takes it up, or a person decides again."""
        return "not started: interrupted" if self.stopped.is_set() else "left for the next run"

    def can_start_repository(self) -> bool:
        return not self.stopped.is_set() and self._left_s() >= self.start_margin_s

    def can_start_batch(self) -> bool:
        return not self.stopped.is_set() and self._left_s() >= self.batch_margin_s

    def can_go_on_scanning(self) -> bool:
        """Whether the in-use scan may make its next describe call. A person's stop does not cut
        the scan (nothing is deleted before it ends, and the sweep then starts nothing)."""
        return self._left_s() >= self.scan_margin_s
