"""How the in-use scan reads at once: accounts, sources, and the describe calls of one source, each
in a bounded pool of threads, results in the order of what was asked (so that a digest's first user
is the same every run), the first failure stopping the rest. Each call still waits for its token
(core/pacing.py): the pools only keep enough calls in flight for the rate, whatever the latency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)

# Describe calls of one source in flight at once: enough to keep a bucket of 100 calls per second
# busy at 80 ms a call (Lambda's GetFunction), more than any 20-per-second bucket needs.
DESCRIBES_AT_ONCE = 8


class Stopped(Exception):
    """Another part of the scan failed: this part stops without making another call."""


def at_once(
    items: Sequence[T], work: Callable[[T], R], limit: int, stop: threading.Event, name: str = "scan"
) -> list[R]:
    """`work(item)` for every item, at most `limit` at a time, results in the items' order. On a
    failure, `stop` is set (no part of the scan starts another call), the work in flight ends, and
    the failure of the earliest item is raised (one that stopped because of it is not a failure)."""
    if stop.is_set():
        raise Stopped
    if len(items) <= 1 or limit <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(limit, len(items)), thread_name_prefix=name) as pool:
        futures = [pool.submit(_unless_stopped, work, item, stop) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        if any(future.exception() is not None for future in done):
            stop.set()
            for future in futures:
                future.cancel()
            wait(futures)
            failures = [
                error
                for future in futures
                if not future.cancelled() and (error := future.exception()) is not None
                and not isinstance(error, Stopped)
            ]  # fmt: skip
            raise failures[0] if failures else Stopped
    return [future.result() for future in futures]


def _unless_stopped(work: Callable[[T], R], item: T, stop: threading.Event) -> R:
    if stop.is_set():
        raise Stopped
    return work(item)


class Once(Generic[K, R]):
    """`get(key, compute)` computes each key once, however many threads ask for it at once: the
    others wait for that answer (one describe call per object, as the scan's call count promises)."""

    def __init__(self) -> None:
        self._answers: dict[K, Future[R]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], R]) -> R:
        with self._lock:
            answer = self._answers.get(key)
            mine = answer is None
            if answer is None:
                answer = self._answers[key] = Future()
        if mine:
            try:
                answer.set_result(compute())
            except BaseException as error:
                answer.set_exception(error)
                raise
        return answer.result()
