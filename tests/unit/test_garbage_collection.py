"""A sweep collects garbage rarely: its objects are freed by reference counting, and collections
of the older generations would re-read every object it holds (the SDK's models, a page of images)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ecr_sweeper.run import runner


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def test_a_sweep_raises_the_youngest_generation_threshold_and_keeps_the_others(default_thresholds: None) -> None:
    # Given the default thresholds (700, 10, 10)
    # When a sweep tunes garbage collection
    runner.tune_garbage_collection()

    # Then the youngest generation's threshold is raised, and the other two are kept
    assert gc.get_threshold() == (runner.GC_THRESHOLD, 10, 10)


def test_a_higher_threshold_set_by_the_host_is_kept(default_thresholds: None) -> None:
    # Given a host that set a higher threshold than the sweep's
    gc.set_threshold(50_000, 20, 10)

    # When a sweep tunes garbage collection
    runner.tune_garbage_collection()

    # Then the host's thresholds are kept
    assert gc.get_threshold() == (50_000, 20, 10)


def test_the_function_sweeps_with_the_threshold(default_thresholds: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sweep that records the threshold it runs with
    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(runner, "_sweep_region", lambda *args, **kwargs: seen.append(gc.get_threshold()))
    monkeypatch.setattr(runner, "combine", lambda summaries: summaries)

    # When a region is swept
    runner.sweep(
        runner.Settings.from_env({}),
        runner.RunOptions(dry_run=True),
        listener=lambda region: None,
        regions=["eu-west-1"],
    )

    # Then it ran with the raised threshold
    assert seen == [(runner.GC_THRESHOLD, 10, 10)]
