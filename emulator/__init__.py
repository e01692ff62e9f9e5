"""The emulator: moto, corrected where it differs from real AWS, plus stand-ins for what moto lacks.

`install()` applies every correction and registers every stand-in in this process, for moto
in-process (`mock_aws`) and `ThreadedMotoServer` alike, so that the tests, the demo and the
benchmarks all run against the same corrected behaviour. It is the only entry point: the modules'
own `_install()` functions are called from here, once, in order.

- ECR (ecr): paging, the tagStatus and imageStatus filters, moved tags, sha256 digests, the
  100-id limit, imageIds[] and failures[], referrer fields, pull times and their exclusions,
  ImageReferencedByManifestList, the archive storage class, fault and interleaving injection.
- Lambda and ECS tasks (compute), ECS services with deployments and service revisions
  (ecs_services), Batch and SageMaker paging (workloads), Step Functions' ResultWriter (states).
- sts:AssumeRole as IAM evaluates it (identity), Organizations' ListAccounts (organizations).
- Stand-ins: App Runner (apprunner), Inspector's ListCoverage (inspector), and a Kubernetes API
  server over HTTPS that an EKS cluster in moto points at (kubernetes; started by the caller).
- Seeding: through the API (seed), or straight into the backend in bulk (bulk); a local server
  (server: `python -m emulator.server`).
"""

from __future__ import annotations

import threading

__all__ = ["install"]

_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Apply every correction and stand-in to moto's classes in this process. Idempotent."""
    global _installed
    with _install_lock:
        if _installed:
            return
        # Imported here, not at the top: `import emulator.bulk` (the bench's sweeping child) must not
        # import every stand-in.
        from emulator import (
            apprunner,
            compute,
            ecr,
            ecs_services,
            identity,
            inspector,
            organizations,
            states,
            workloads,
        )

        identity._install()
        organizations._install()
        # Before ecs_services: its service revisions resolve digests with compute.resolve().
        compute._install()
        ecs_services._install()
        states._install()
        workloads._install()
        apprunner._install()
        inspector._install()
        ecr._install()
        _installed = True
