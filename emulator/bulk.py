"""Seed a large registry straight into the emulator's backend, for benchmarks and large tests.

Pushing a million images through PutImage would take longer than the sweep being measured, so
the images are built as PutImage would build them (digest = sha256 of the manifest, size = the
sum of the layers, an index listing its children) and appended to the repository directly.
`create_repositories` and `push_untagged` leave exactly what seed.create_repository and seed.push
leave, for tests that assert on hundreds of repositories or images without an API call for each.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.ecr.models import Image

from emulator.ecr import DEFAULT_ACCOUNT, backend, manifest_digest, new_image
from emulator.seed import DOCKER_MANIFEST, OCI_INDEX, image_manifest

RETENTION = "7"
LAYERS = (20_000_000, 1_000_000)


@dataclass(frozen=True)
class Shape:
    """Per repository: one tagged index with two untagged children, every tenth image tagged, and
    of the other untagged images three in five expired (30 days old) and two in five young (1 day)."""

    repositories: int
    images: int

    def deletes_per_repository(self) -> int:
        return sum(1 for n in range(3, self.images) if n % 10 != 0 and n % 5 < 3)

    def indexes_per_repository(self) -> int:
        return 1 if self.images >= 3 else 0


def seed(shape: Shape, now: datetime, *, region: str = "us-east-1") -> None:
    ecr = backend(region)
    for r in range(shape.repositories):
        name = f"bench/repo-{r:05d}"
        ecr.create_repository(name, None, {"encryptionType": "AES256"}, None, "MUTABLE", [
            {"Key": "ecr-sweeper:retention-days", "Value": RETENTION}
        ])  # fmt: skip
        repository = ecr.repositories[name]
        children: list[str] = []
        for n in range(shape.images):
            if n == 2:
                index = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": OCI_INDEX,
                        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": d, "size": 500} for d in children],
                    }
                )
                _append(repository, name, index, OCI_INDEX, "release", now - timedelta(days=30), None)
                continue
            tagged = n % 10 == 0 and n >= 3
            age = 30 if n < 2 or n % 5 < 3 else 1
            manifest = image_manifest(f"{name}/{n}", LAYERS)
            digest = _append(
                repository,
                name,
                manifest,
                DOCKER_MANIFEST,
                f"v{n}" if tagged else None,
                now - timedelta(days=age),
                sum(LAYERS),
            )
            if n < 2:
                children.append(digest)


def _append(
    repository: object, name: str, manifest: str, media_type: str, tag: str | None, pushed: datetime, size: int | None
) -> str:
    digest = manifest_digest(manifest)
    image = Image(DEFAULT_ACCOUNT, tag, manifest, name, media_type, digest)
    image.image_pushed_at = pushed.timestamp()
    image.ecr_size = size
    image.last_recorded_pull_time = None
    image.subject_manifest_digest = None
    image.artifact_media_type = None
    repository.images.append(image)  # type: ignore[attr-defined]
    return digest


def create_repositories(names: Iterable[str], retention: str | None = None, *, region: str = "us-east-1") -> None:
    """seed.create_repository for each name, as CreateRepository with only a name and tags would."""
    from ecr_sweeper.core.constants import DEFAULT_RETENTION_TAG_KEY

    ecr = backend(region)
    tags = [] if retention is None else [{"Key": DEFAULT_RETENTION_TAG_KEY, "Value": retention}]
    for name in names:
        ecr.create_repository(
            repository_name=name,
            registry_id=None,
            encryption_config=None,
            image_scan_config=None,
            image_tag_mutability=None,
            tags=[dict(tag) for tag in tags],
        )


def push_untagged(
    repository: str, salts: Iterable[str], *, pushed_at: datetime, region: str = "us-east-1"
) -> list[str]:
    """seed.push(ecr, repository, salt, pushed_at=pushed_at) for each salt, without PutImage: the
    same manifests, digests and fields. Returns the digests in order."""
    images = backend(region)._get_repository(repository).images
    present = {image.get_image_digest() for image in images}
    pushed: list[str] = []
    for salt in salts:
        manifest = image_manifest(salt)
        digest = manifest_digest(manifest)
        if digest in present:
            # A re-push by digest touches the existing image; nothing here needs that.
            raise ValueError(f"{repository}@{digest} (salt {salt!r}) is already in the repository")
        image = new_image(DEFAULT_ACCOUNT, repository, None, manifest, DOCKER_MANIFEST)
        image.image_pushed_at = pushed_at.timestamp()
        images.append(image)
        present.add(digest)
        pushed.append(digest)
    return pushed


@dataclass(frozen=True)
class Workloads:
    """What the in-use scan reads, in one region: image functions (each with $LATEST and one
    published version), ECS clusters of services scaled to zero on their own task definitions,
    extra ACTIVE task definitions, Batch job definitions, App Runner services and SageMaker models.
    Each names a digest that no repository holds, so the registry's deletions stay as seeded."""

    functions: int = 10
    clusters: int = 2
    services_per_cluster: int = 5
    task_definitions: int = 30
    job_definitions: int = 10
    app_runner_services: int = 3
    models: int = 12

    def seed(self, endpoint: str, *, region: str = "us-east-1") -> None:
        import boto3

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )

        image = workload_image(region)
        role = client("iam").create_role(RoleName="bench-workload", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = client("lambda")
        for n in range(self.functions):
            lam.create_function(
                FunctionName=f"fn-{n}", Role=role, PackageType="Image", Code={"ImageUri": image}, Publish=True
            )
        ecs = client("ecs")
        definitions = [
            ecs.register_task_definition(
                family=f"td-{n}", containerDefinitions=[{"name": "c", "image": image, "memory": 64}]
            )["taskDefinition"]["taskDefinitionArn"]
            for n in range(self.task_definitions)
        ]
        for c in range(self.clusters):
            ecs.create_cluster(clusterName=f"cluster-{c}")
            for s in range(self.services_per_cluster):
                definition = definitions[(c * self.services_per_cluster + s) % len(definitions)]
                ecs.create_service(
                    cluster=f"cluster-{c}", serviceName=f"svc-{s}", taskDefinition=definition, desiredCount=0
                )
        batch = client("batch")
        for n in range(self.job_definitions):
            batch.register_job_definition(
                jobDefinitionName=f"job-{n}",
                type="container",
                containerProperties={"image": image, "vcpus": 1, "memory": 64},
            )
        apprunner = client("apprunner")
        for n in range(self.app_runner_services):
            apprunner.create_service(
                ServiceName=f"site-{n}",
                SourceConfiguration={"ImageRepository": {"ImageIdentifier": image, "ImageRepositoryType": "ECR"}},
            )
        sagemaker = client("sagemaker")
        for n in range(self.models):
            sagemaker.create_model(ModelName=f"model-{n}", PrimaryContainer={"Image": image}, ExecutionRoleArn=role)


@dataclass(frozen=True)
class InUseAccount:
    """An account whose in-use scan is large: `revisions` ACTIVE task definition revisions (20 per
    family), `services` ECS services scaled to zero on some of them (100 per cluster), and image
    functions with four published versions each (`versions` in all) besides their $LATEST. Every
    image names a digest no repository holds. Seeded straight into the backends, as `seed` does."""

    revisions: int
    services: int
    versions: int
    revisions_per_family: int = 20
    services_per_cluster: int = 100
    versions_per_function: int = 4

    @property
    def clusters(self) -> int:
        return math.ceil(self.services / self.services_per_cluster)

    @property
    def functions(self) -> int:
        return math.ceil(self.versions / self.versions_per_function)

    def seed(self, *, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> None:
        """Seed the workloads in `account`: the registry's own, or a consumer account's, whose
        workloads name the same registry's image."""
        from moto.awslambda.models import lambda_backends
        from moto.ecs.models import ecs_backends
        from moto.iam.models import iam_backends

        image = workload_image(region)
        ecs = ecs_backends[account][region]
        containers = [{"name": "c", "image": image, "memory": 64}]
        revisions = [
            ecs.register_task_definition(f"bench-{n // self.revisions_per_family:05d}", containers).arn
            for n in range(self.revisions)
        ]
        for c in range(self.clusters):
            ecs.create_cluster(f"bench-{c}")
        for s in range(self.services):
            # Services run revisions spread over the whole listing, as a real account's do.
            revision = revisions[s * len(revisions) // self.services]
            ecs.create_service(f"bench-{s // self.services_per_cluster}", f"svc-{s:04d}", 0, revision)
        functions = lambda_backends[account][region]
        role = iam_backends[account]["aws"].create_role("bench-functions", "{}", "/", None, "", [], None).arn
        for v in range(self.versions):
            name = f"bench-fn-{v // self.versions_per_function:04d}"
            if v % self.versions_per_function == 0:
                functions.create_function({"FunctionName": name, "Role": role, "PackageType": "Image",
                                           "Code": {"ImageUri": image}})  # fmt: skip
            # Each version is published from changed code, as Lambda requires.
            functions.update_function_code(name, "$LATEST", {"ImageUri": f"{image.rpartition('@')[0]}:v{v}"})
            functions.publish_version(name)


def reader_role(account: str, role_name: str = "ecr-sweeper-reader") -> None:
    """What the EcrSweeperReader stack creates in a consumer account: the role the sweeper (here, any
    principal of the registry's account) assumes to read it."""
    from moto.iam.models import iam_backends

    from emulator.identity import trust_policy

    trust = trust_policy(f"arn:aws:iam::{DEFAULT_ACCOUNT}:root")
    iam_backends[account]["aws"].create_role(role_name, trust, "/", None, "", [], None)


def workload_image(region: str) -> str:
    """The image every bench workload names: a digest that no repository holds."""
    return f"{DEFAULT_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/bench/workload@sha256:{'0' * 64}"
