"""Given a repository with three delete batches of expired digests, when the operator presses Ctrl-C
while the first BatchDeleteImage is in flight, then that batch finishes, no other batch starts, and
the tool exits 130 saying what it deleted and how many digests it did not delete."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import boto3
import pytest

from emulator.ecr import Hook, faults
from emulator.identity import OWN
from emulator.seed import create_repository
from infra.app import ROOT
from tests.integration.images import digests, untagged

REPOSITORY = "app"
IMAGES = 250  # three delete batches: 100, 100 and 50
BATCH = 100


@dataclass
class Interrupted:
    code: int
    out: str
    err: str
    seeded: set[str]
    remaining: set[str]

    @property
    def deleted(self) -> set[str]:
        return self.seeded - self.remaining


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def _drain(stream: IO[str], into: list[str]) -> threading.Thread:
    """Read a pipe as it fills: a child that fills one (a plan in JSON lines) would block on it."""
    thread = threading.Thread(target=lambda: into.extend(stream), daemon=True)
    thread.start()
    return thread


@pytest.fixture
def interrupted_sweep(local_endpoint: str) -> Iterator[Any]:
    """Runs `sweep --yes` in a subprocess and presses Ctrl-C while its first delete batch is in flight."""
    client = boto3.client("ecr", endpoint_url=local_endpoint, **OWN)
    create_repository(client, REPOSITORY, "1")
    seeded = {untagged(client, REPOSITORY, f"expired-{n}", 30) for n in range(IMAGES)}
    in_flight, release = threading.Event(), threading.Event()

    def hold(params: dict[str, Any]) -> None:
        # The first BatchDeleteImage has reached ECR: it waits here until the test has pressed Ctrl-C.
        in_flight.set()
        release.wait(timeout=30)

    faults.hooks.append(Hook("BatchDeleteImage", hold, times=1))
    procs: list[subprocess.Popen[str]] = []

    def run(*options: str) -> Interrupted:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "lambda"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "MAX_WORKERS": "1",
        }
        command = [sys.executable, "-m", "ecr_sweeper", "--endpoint-url", local_endpoint, "--region", "us-east-1"]
        proc = subprocess.Popen(
            [*command, "sweep", "--yes", *options],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        out: list[str] = []
        err: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        readers = [_drain(proc.stdout, out), _drain(proc.stderr, err)]
        if not in_flight.wait(timeout=60):
            proc.kill()
            pytest.fail(f"no BatchDeleteImage reached the emulator; stderr: {''.join(err)[-2000:]}")
        proc.send_signal(signal.SIGINT)
        time.sleep(1)  # the handler runs while the batch is still in flight
        release.set()
        code = proc.wait(timeout=60)
        for reader in readers:
            reader.join(timeout=10)
        return Interrupted(code, "".join(out), "".join(err), seeded, digests(client, REPOSITORY))

    try:
        yield run
    finally:
        release.set()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        faults.reset()


def test_ctrl_c_finishes_the_batch_in_flight_and_starts_no_other(interrupted_sweep: Any) -> None:
    # Given 250 expired digests (three delete batches), and a first batch that is in flight

    # When the operator presses Ctrl-C during that batch
    run = interrupted_sweep()

    # Then the batch in flight finishes, no other starts, and the tool exits 130 without a traceback
    assert run.code == 130, run.err
    assert "Traceback" not in run.err
    assert run.remaining <= run.seeded and len(run.remaining) == IMAGES - BATCH
    # It lists each digest it deleted, and only those, and says how many it did not delete
    output = run.out + run.err
    listed = set(re.findall(rf"^deleted\s+\S+ \S+\s+{REPOSITORY}@([0-9a-f]{{12}})\b", output, re.MULTILINE))
    assert listed == {short(d) for d in run.deleted}
    assert f"Not deleted: {IMAGES - BATCH} digest(s) of the plan:" in output
    assert f"... and {IMAGES - BATCH - 20} more" in output, "the first 20 not deleted are listed"


def test_ctrl_c_with_json_lines(interrupted_sweep: Any) -> None:
    # Given 250 expired digests (three delete batches), and a first batch that is in flight

    # When the operator presses Ctrl-C during that batch, with JSON lines
    run = interrupted_sweep("--output", "jsonl")

    # Then every line is JSON: one verdict line per deletion of that batch, then the totals, interrupted
    assert run.code == 130, run.err
    assert "Traceback" not in run.err
    assert len(run.remaining) == IMAGES - BATCH
    lines = [json.loads(line) for line in run.out.splitlines()]
    deleted = [line["digest"] for line in lines if line.get("type") == "verdict" and line.get("action") == "deleted"]
    assert len(deleted) == BATCH and set(deleted) == run.deleted
    totals = lines[-1]
    assert totals["type"] == "totals" and totals["interrupted"] is True
    assert totals["deletedBeforeInterrupt"] == BATCH and totals["notDeleted"] == IMAGES - BATCH
