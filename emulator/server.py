"""The corrected emulator as a local server on 127.0.0.1, optionally seeded in bulk (benchmarks).

    python -m emulator.server --port 5000 --repositories 100 --images 1000 --latency-ms 20
    python -m emulator.server --port 5000 --in-use 20000x500x2000   # revisions x services x versions
    python -m emulator.server --port 5000 --in-use 20000x500x2000 \
        --consumers 210987654321,310987654321 --consumer-in-use 2000x50x200   # and consumer accounts

Prints `READY <port>` once it serves; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer

from emulator import bulk, install
from emulator.ecr import faults


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the emulator binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request")


def _fast_dispatch() -> None:
    """Resolve each request's service once per (service, region), not per request.

    moto's dispatcher works the service out of every request again, under one global lock, which
    serializes concurrent requests and costs about a fifth of the server's CPU: the benchmark would
    measure moto's dispatcher instead of the sweeper. Requests signed with SigV4 name their service
    and region in the credential scope, so the answer can be kept.
    """
    original = DomainDispatcherApplication.get_application
    cache: dict[tuple[str, str], Any] = {}

    def get_application(self: DomainDispatcherApplication, environ: dict[str, Any]) -> Any:
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None or environ.get("PATH_INFO", "").startswith(("/moto-api", "/latest/")):
            return original(self, environ)
        key = (scope.group(2), scope.group(1))
        if key not in cache:
            cache[key] = original(self, environ)
        return cache[key]

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]


def _delay_other_services(seconds: float) -> None:
    """The same latency for the in-use scan's calls (Lambda, ECS, Batch, App Runner, SageMaker) as
    for ECR's, whose corrected operations apply it themselves."""
    if not seconds:
        return
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    def delayed(self: BaseResponse) -> Any:
        if self.service_name != "ecr":
            time.sleep(seconds)
        return original(self)

    BaseResponse.call_action = delayed  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--repositories", type=int, default=0)
    parser.add_argument("--images", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--throttle", type=float, default=0.0, help="share of ECR calls throttled, 0 to 1")
    parser.add_argument("--rng-seed", type=int, default=1)
    parser.add_argument("--now", help="ISO time the ages are counted back from (default: now)")
    parser.add_argument(
        "--in-use", help="REVISIONSxSERVICESxVERSIONS: an account with that many workloads (bulk.InUseAccount)"
    )
    parser.add_argument("--consumers", default="", help="consumer account IDs, comma-separated, with their reader role")
    parser.add_argument("--consumer-in-use", help="REVISIONSxSERVICESxVERSIONS of each consumer account's workloads")
    args = parser.parse_args()

    install()
    _fast_dispatch()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    if args.repositories:
        bulk.seed(bulk.Shape(args.repositories, args.images), now)
    if args.in_use:
        bulk.InUseAccount(*(int(part) for part in args.in_use.lower().split("x"))).seed()
    for consumer in filter(None, args.consumers.split(",")):
        bulk.reader_role(consumer)
        if args.consumer_in_use:
            bulk.InUseAccount(*(int(part) for part in args.consumer_in_use.lower().split("x"))).seed(account=consumer)
    faults.latency_s = args.latency_ms / 1000
    _delay_other_services(faults.latency_s)
    faults.throttle_rate = args.throttle
    faults.rng.seed(args.rng_seed)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    print(f"READY {args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
