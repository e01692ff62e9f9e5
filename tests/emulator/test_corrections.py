"""Each emulator correction behaves as the service does: ECR as the Amazon ECR API Reference (DescribeImages,
DescribeRepositories, BatchDeleteImage, BatchGetImage, UpdateImageStorageClass) and User Guide describe it, and
Lambda, ECS, Batch and SageMaker as their API references do. Each correction in emulator/ names its source
(docs/reference/ecr.md, "The local emulator: where moto differs, and the correction")."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.ecr import finish_restore, manifest_digest
from emulator.seed import DOCKER_MANIFEST, create_repository, image_manifest, push, push_index


def test_describe_images_pages_with_max_results_and_next_token(ecr: Any) -> None:
    # Given a repository with 250 images
    create_repository(ecr, "paged")
    pushed = {push(ecr, "paged", f"i{n}") for n in range(250)}

    # When its images are described 100 at a time, following the next token
    first = ecr.describe_images(repositoryName="paged", maxResults=100)
    second = ecr.describe_images(repositoryName="paged", maxResults=100, nextToken=first["nextToken"])
    third = ecr.describe_images(repositoryName="paged", maxResults=100, nextToken=second["nextToken"])

    # Then the pages hold 100, 100 and 50, and the last has no next token
    assert [len(p["imageDetails"]) for p in (first, second, third)] == [100, 100, 50]
    assert "nextToken" not in third
    # And every pushed digest is listed exactly once
    seen = [d["imageDigest"] for p in (first, second, third) for d in p["imageDetails"]]
    assert len(seen) == len(set(seen)) and set(seen) == pushed


def test_describe_images_returns_100_by_default_and_refuses_more_than_1000(ecr: Any) -> None:
    # Given a repository with 120 images
    create_repository(ecr, "paged")
    for n in range(120):
        push(ecr, "paged", f"i{n}")

    # When its images are described without maxResults, then one page of 100 comes back, with a next token
    default = ecr.describe_images(repositoryName="paged")
    assert len(default["imageDetails"]) == 100 and "nextToken" in default
    # And a maxResults of 1001 is refused
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecr.describe_images(repositoryName="paged", maxResults=1001)


def test_describe_images_honours_the_tag_status_filter(ecr: Any) -> None:
    # Given a repository with one tagged and one untagged image
    create_repository(ecr, "mixed")
    tagged = push(ecr, "mixed", "t", tag="v1")
    loose = push(ecr, "mixed", "u")

    def listed(status: str) -> set[str]:
        response = ecr.describe_images(repositoryName="mixed", filter={"tagStatus": status})
        return {d["imageDigest"] for d in response["imageDetails"]}

    # When the images are described with each tag status filter, then each filter lists only its images
    assert listed("TAGGED") == {tagged}
    assert listed("UNTAGGED") == {loose}
    assert listed("ANY") == {tagged, loose}


def test_describe_repositories_pages(ecr: Any) -> None:
    # Given 150 repositories
    for n in range(150):
        create_repository(ecr, f"r-{n:03d}")

    # When they are described without maxResults, then the first page holds 100 and the next token leads to the other 50
    first = ecr.describe_repositories()
    assert len(first["repositories"]) == 100
    rest = ecr.describe_repositories(nextToken=first["nextToken"])
    assert len(rest["repositories"]) == 50 and "nextToken" not in rest
    # And a page size of 1000 gets all 150 in one page
    pages = list(ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1000}))
    assert [len(p["repositories"]) for p in pages] == [150]


def test_a_moved_tag_leaves_the_old_image_untagged(ecr: Any) -> None:
    # Given a repository where tag latest is pushed on one image and then on another
    create_repository(ecr, "moving")
    old = push(ecr, "moving", "one", tag="latest")
    new = push(ecr, "moving", "two", tag="latest")

    # When its images are described
    details = {d["imageDigest"]: d for d in ecr.describe_images(repositoryName="moving")["imageDetails"]}

    # Then both images are there, the old one without a tag, and the new one tagged latest
    assert set(details) == {old, new}
    assert "imageTags" not in details[old]
    assert details[new]["imageTags"] == ["latest"]


def test_the_digest_is_the_sha256_of_the_manifest(ecr: Any) -> None:
    # Given a repository and an image manifest
    create_repository(ecr, "digests")
    manifest = image_manifest("x")

    # When the manifest is pushed, then its digest is the sha256 of the manifest
    response = ecr.put_image(repositoryName="digests", imageManifest=manifest, imageTag="a")
    assert response["image"]["imageId"]["imageDigest"] == manifest_digest(manifest)

    # And a push that gives a digest other than the manifest's is refused
    with pytest.raises(ClientError, match="ImageDigestDoesNotMatchException"):
        ecr.put_image(repositoryName="digests", imageManifest=image_manifest("y"), imageDigest="sha256:" + "a" * 64)


def test_indexes_without_layers_get_distinct_digests(ecr: Any) -> None:
    # Given a repository with one image
    create_repository(ecr, "indexes")
    child = push(ecr, "indexes", "child")

    # When 200 indexes are pushed that list that image and differ only in an annotation, and have no layers
    digests = set()
    for n in range(200):
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": child, "annotations": {"n": str(n)}}],
            }
        )
        response = ecr.put_image(repositoryName="indexes", imageManifest=index, imageTag=f"t{n}")
        digests.add(response["image"]["imageId"]["imageDigest"])

    # Then they get 200 distinct digests
    assert len(digests) == 200


def test_batch_delete_image_refuses_more_than_100_ids_and_deletes_nothing(ecr: Any) -> None:
    # Given a repository with 101 images
    create_repository(ecr, "limits")
    pushed = [push(ecr, "limits", f"i{n}") for n in range(101)]

    # When all 101 are deleted in one call, then the call is refused
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecr.batch_delete_image(repositoryName="limits", imageIds=[{"imageDigest": d} for d in pushed])

    # And no image was deleted
    assert len(ecr.describe_images(repositoryName="limits", maxResults=1000)["imageDetails"]) == 101


def test_batch_delete_image_lists_what_it_deleted_and_what_failed(ecr: Any) -> None:
    # Given a repository with a tagged image and an untagged image, and a digest it does not hold
    create_repository(ecr, "deletes")
    tagged = push(ecr, "deletes", "t", tag="v1")
    loose = push(ecr, "deletes", "u")
    missing = "sha256:" + "0" * 64

    # When all three are deleted in one call
    response = ecr.batch_delete_image(
        repositoryName="deletes", imageIds=[{"imageDigest": d} for d in (tagged, loose, missing)]
    )

    # Then the two held are listed as deleted, the tagged one with its tag
    assert response["imageIds"] == [{"imageDigest": tagged, "imageTag": "v1"}, {"imageDigest": loose}]
    # And the missing digest is listed as a failure, ImageNotFound
    assert response["failures"] == [
        {
            "imageId": {"imageDigest": missing},
            "failureCode": "ImageNotFound",
            "failureReason": "Requested image not found",
        }
    ]


def test_referrer_fields_come_from_the_pushed_manifest(ecr: Any) -> None:
    # Given a repository with a tagged image, and a cosign signature manifest whose subject is that image
    create_repository(ecr, "signed")
    subject = push(ecr, "signed", "app", tag="v1")
    signature = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "sha256:" + "4" * 64},
            "layers": [
                {
                    "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "size": 250,
                    "digest": "sha256:" + "5" * 64,
                }
            ],
            "subject": {
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": subject,
                "size": 500,
            },
        }
    )

    # When the signature is pushed and the untagged images are described
    ecr.put_image(repositoryName="signed", imageManifest=signature)

    [detail] = ecr.describe_images(repositoryName="signed", filter={"tagStatus": "UNTAGGED"})["imageDetails"]

    # Then the signature's subject, artifact type and size come from its manifest
    assert detail["subjectManifestDigest"] == subject
    assert detail["artifactMediaType"] == "application/vnd.dev.cosign.artifact.sig.v1+json"
    assert detail["imageSizeInBytes"] == 250


@pytest.fixture
def server_ecr(local_endpoint: str) -> Any:
    return boto3.client("ecr", region_name="us-east-1", endpoint_url=local_endpoint)


def test_the_corrections_also_serve_a_local_server(server_ecr: Any) -> None:
    # Given a local server, and a repository where tag latest moved from one image to another
    create_repository(server_ecr, "served")
    old = push(server_ecr, "served", "one", tag="latest")
    push(server_ecr, "served", "two", tag="latest")

    # When the untagged images are described through the server, then the old image is the one listed
    untagged = server_ecr.describe_images(repositoryName="served", filter={"tagStatus": "UNTAGGED"})
    assert [d["imageDigest"] for d in untagged["imageDetails"]] == [old]


# --- corrections for the safety rules (issue 3) -----------------------------------------------


def test_deleting_a_child_that_a_remaining_index_lists_is_refused(ecr: Any) -> None:
    # Given a repository with an image, and a tagged index that lists it
    from emulator.seed import push_index

    create_repository(ecr, "multi")
    child = push(ecr, "multi", "child")
    index = push_index(ecr, "multi", [child], tag="v1")

    # When the image is deleted while the index remains
    response = ecr.batch_delete_image(repositoryName="multi", imageIds=[{"imageDigest": child}])

    # Then nothing is deleted, and the failure is ImageReferencedByManifestList
    assert response["imageIds"] == []
    assert response["failures"][0]["failureCode"] == "ImageReferencedByManifestList"
    # And once the index is deleted, the image can be deleted
    ecr.batch_delete_image(repositoryName="multi", imageIds=[{"imageDigest": index}])
    assert ecr.batch_delete_image(repositoryName="multi", imageIds=[{"imageDigest": child}])["imageIds"]


def test_an_index_naming_a_missing_manifest_is_refused(ecr: Any) -> None:
    # Given a repository, and a digest it does not hold
    from emulator.seed import push_index

    create_repository(ecr, "multi")

    # When an index that lists that digest is pushed, then it is refused with ReferencedImagesNotFoundException
    with pytest.raises(ClientError, match="ReferencedImagesNotFoundException"):
        push_index(ecr, "multi", ["sha256:" + "1" * 64])


def test_a_pull_sets_last_recorded_pull_time_unless_the_principal_is_excluded(ecr: Any) -> None:
    # Given a repository with one image
    create_repository(ecr, "pulls")
    digest = push(ecr, "pulls", "x")

    def pulled_at() -> Any:
        return ecr.describe_images(repositoryName="pulls", imageIds=[{"imageDigest": digest}])["imageDetails"][0].get(
            "lastRecordedPullTime"
        )

    # And the one role excluded from pull-time updates
    # The `ecr` fixture runs the default credentials as a session of the excluded sweeper role.
    [role] = ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]

    # When the sweeper's session pulls the image, then no pull time is recorded
    as_sweeper = boto3.client("ecr", region_name="us-east-1")
    as_sweeper.batch_get_image(repositoryName="pulls", imageIds=[{"imageDigest": digest}])
    assert pulled_at() is None, "an excluded role's pull is not recorded"

    # And once the exclusion is removed, the same pull records a pull time
    ecr.deregister_pull_time_update_exclusion(principalArn=role)
    as_sweeper.batch_get_image(repositoryName="pulls", imageIds=[{"imageDigest": digest}])
    assert pulled_at() is not None


def test_exclusions_refuse_duplicates_and_unknown_principals(ecr: Any) -> None:
    # Given a role registered as a pull-time update exclusion
    arn = "arn:aws:iam::123456789012:role/scanner"
    ecr.register_pull_time_update_exclusion(principalArn=arn)

    # When it is registered again, then it is refused as already there
    with pytest.raises(ClientError, match="ExclusionAlreadyExistsException"):
        ecr.register_pull_time_update_exclusion(principalArn=arn)
    # And a principal that does not exist is refused as an invalid parameter
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecr.register_pull_time_update_exclusion(principalArn="arn:aws:iam::123456789012:user/someone")
    # And once removed, removing it again is refused as not found
    ecr.deregister_pull_time_update_exclusion(principalArn=arn)
    with pytest.raises(ClientError, match="ExclusionNotFoundException"):
        ecr.deregister_pull_time_update_exclusion(principalArn=arn)


REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_lambda_reports_the_digest_a_tag_resolved_to_when_the_code_was_set(ecr: Any) -> None:
    # Given a function created from tag latest of an image, and tag latest then moved to another image
    create_repository(ecr, "fn")
    first = push(ecr, "fn", "one", tag="latest")
    role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(
        FunctionName="f", Role=role["Role"]["Arn"], PackageType="Image", Code={"ImageUri": f"{REGISTRY}/fn:latest"}
    )
    push(ecr, "fn", "two", tag="latest")

    # When the function's code is read
    code = lam.get_function(FunctionName="f")["Code"]

    # Then the image URI is the tag, and the resolved image URI is the digest the tag named when the code was set
    assert code["ImageUri"] == f"{REGISTRY}/fn:latest"
    assert code["ResolvedImageUri"] == f"{REGISTRY}/fn@{first}"


def test_a_published_lambda_version_keeps_the_image_it_was_published_with(ecr: Any) -> None:
    # Given a function created from one image by digest, published as version 1
    create_repository(ecr, "fn")
    first, second = push(ecr, "fn", "one"), push(ecr, "fn", "two")
    role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(
        FunctionName="f",
        Role=role["Role"]["Arn"],
        PackageType="Image",
        Code={"ImageUri": f"{REGISTRY}/fn@{first}"},
        Publish=True,
    )

    # When its code is updated to another image
    lam.update_function_code(FunctionName="f", ImageUri=f"{REGISTRY}/fn@{second}")

    # Then version 1 keeps the first image, and $LATEST has the second
    assert lam.get_function(FunctionName="f", Qualifier="1")["Code"]["ImageUri"] == f"{REGISTRY}/fn@{first}"
    assert lam.get_function(FunctionName="f")["Code"]["ImageUri"] == f"{REGISTRY}/fn@{second}"


def test_lambda_lists_at_most_50_functions_or_versions_a_page(ecr: Any) -> None:
    # Given 30 image functions, each with $LATEST and one published version: 60 versions
    role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    lam = boto3.client("lambda", region_name="us-east-1")
    for n in range(30):
        lam.create_function(
            FunctionName=f"f{n:02d}",
            Role=role["Role"]["Arn"],
            PackageType="Image",
            Code={"ImageUri": f"{REGISTRY}/fn@sha256:{'0' * 64}"},
            Publish=True,
        )

    # When they are listed with a larger MaxItems than Lambda serves
    first = lam.list_functions(FunctionVersion="ALL", MaxItems=1000)
    rest = lam.list_functions(FunctionVersion="ALL", Marker=first["NextMarker"])

    # Then the first page holds 50, the marker leads to the other 10, and a foreign marker is refused
    assert (len(first["Functions"]), len(rest["Functions"]), "NextMarker" in rest) == (50, 10, False)
    listed = {(f["FunctionName"], f["Version"]) for page in (first, rest) for f in page["Functions"]}
    assert len(listed) == 60
    assert len(lam.list_functions()["Functions"]) == 30
    with pytest.raises(ClientError, match="InvalidParameterValueException"):
        lam.list_functions(Marker=first["NextMarker"])


def test_ecs_lists_at_most_100_task_definitions_a_page(ecr: Any) -> None:
    # Given 103 task definitions in two families, and one of them deregistered
    ecs = boto3.client("ecs", region_name="us-east-1")
    for n in range(103):
        ecs.register_task_definition(
            family=f"td{n % 2}", containerDefinitions=[{"name": "c", "image": "x", "memory": 8}]
        )
    ecs.deregister_task_definition(taskDefinition="td0:1")

    # When the active ones are listed without maxResults, and then the rest, and with maxResults 5
    first = ecs.list_task_definitions(status="ACTIVE")
    rest = ecs.list_task_definitions(status="ACTIVE", nextToken=first["nextToken"])
    small = ecs.list_task_definitions(status="ACTIVE", maxResults=5)

    # Then the first page holds 100 and the second the other 2, and the small page holds 5
    assert (len(first["taskDefinitionArns"]), len(rest["taskDefinitionArns"]), "nextToken" in rest) == (100, 2, False)
    assert len(set(first["taskDefinitionArns"] + rest["taskDefinitionArns"])) == 102
    assert len(small["taskDefinitionArns"]) == 5
    # And a maxResults of 101 is refused
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.list_task_definitions(maxResults=101)


def test_ecs_reports_the_digest_each_container_started_from(ecr: Any) -> None:
    # Given an image tagged prod, and a task definition that names it by tag
    create_repository(ecr, "svc")
    digest = push(ecr, "svc", "one", tag="prod")
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="c")
    definition = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": f"{REGISTRY}/svc:prod", "memory": 64}]
    )["taskDefinition"]["taskDefinitionArn"]

    # When a task of that definition runs
    ecs.run_task(
        cluster="c",
        taskDefinition=definition,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    )

    # And the task is described
    [task] = ecs.describe_tasks(cluster="c", tasks=ecs.list_tasks(cluster="c")["taskArns"])["tasks"]

    # Then the container reports the digest the tag named when it started
    assert task["containers"][0]["imageDigest"] == digest


# --- the archive storage class (API_UpdateImageStorageClass, API_DescribeImagesFilter,
# ECR user guide "Archiving an image" and "Restoring an image") --------------------------------


def _archive(ecr: Any, repository: str, digest: str, target: str = "ARCHIVE") -> str:
    response = ecr.update_image_storage_class(
        repositoryName=repository, imageId={"imageDigest": digest}, targetStorageClass=target
    )
    return str(response["imageStatus"])


def _listed(ecr: Any, repository: str, **image_filter: str) -> dict[str, str]:
    details = ecr.describe_images(repositoryName=repository, **({"filter": image_filter} if image_filter else {}))
    return {d["imageDigest"]: d["imageStatus"] for d in details["imageDetails"]}


def test_archived_images_are_listed_only_when_the_image_status_filter_asks_for_them(ecr: Any) -> None:
    # Given a repository with an untagged active image and a tagged image
    create_repository(ecr, "arch")
    active = push(ecr, "arch", "active")
    archived = push(ecr, "arch", "archived", tag="v1")

    # When the tagged one is archived, then it is ARCHIVED
    assert _archive(ecr, "arch", archived) == "ARCHIVED"

    # Then only the active image is listed without an image status filter
    # "If not specified, only images with ACTIVE status are returned."
    assert _listed(ecr, "arch") == {active: "ACTIVE"}
    # And the archived image is listed only with imageStatus ARCHIVED or ANY
    assert _listed(ecr, "arch", imageStatus="ARCHIVED") == {archived: "ARCHIVED"}
    assert _listed(ecr, "arch", imageStatus="ANY", tagStatus="TAGGED") == {archived: "ARCHIVED"}
    assert _listed(ecr, "arch", imageStatus="ANY") == {active: "ACTIVE", archived: "ARCHIVED"}
    # And it is described as ARCHIVED with its last archive time
    [detail] = ecr.describe_images(repositoryName="arch", imageIds=[{"imageDigest": archived}])["imageDetails"]
    assert detail["imageStatus"] == "ARCHIVED" and "lastArchivedAt" in detail


def test_a_restore_is_activating_until_it_completes_and_a_push_restores_at_once(ecr: Any) -> None:
    # Given a repository with two archived images
    create_repository(ecr, "arch")
    restored = push(ecr, "arch", "restored")
    repushed = push(ecr, "arch", "repushed")
    for digest in (restored, repushed):
        _archive(ecr, "arch", digest)

    # When one is restored, then it is ACTIVATING
    assert _archive(ecr, "arch", restored, "STANDARD") == "ACTIVATING"
    # And when the other is pushed again, it is ACTIVE at once
    push(ecr, "arch", "repushed")

    # Then the restored one stays ACTIVATING until its restore finishes, and then it is ACTIVE
    assert _listed(ecr, "arch", imageStatus="ANY") == {restored: "ACTIVATING", repushed: "ACTIVE"}
    finish_restore("arch", restored)
    assert _listed(ecr, "arch") == {restored: "ACTIVE", repushed: "ACTIVE"}


def test_an_archived_manifest_cannot_be_pulled(ecr: Any) -> None:
    # Given a repository with an image and a tagged index that lists it, the index archived
    create_repository(ecr, "arch")
    child = push(ecr, "arch", "child")
    index = push_index(ecr, "arch", [child], tag="v1")
    _archive(ecr, "arch", index)

    # When both are pulled
    response = ecr.batch_get_image(repositoryName="arch", imageIds=[{"imageDigest": index}, {"imageDigest": child}])

    # Then only the image comes back, and the archived index fails as ImageNotFound
    assert [i["imageId"]["imageDigest"] for i in response["images"]] == [child]
    [failure] = response["failures"]
    assert failure["imageId"]["imageDigest"] == index and failure["failureCode"] == "ImageNotFound"


def test_an_archived_index_still_stops_its_children_being_deleted(ecr: Any) -> None:
    # Given a repository with an image and a tagged index that lists it, the index archived
    create_repository(ecr, "arch")
    child = push(ecr, "arch", "child")
    index = push_index(ecr, "arch", [child], tag="v1")
    _archive(ecr, "arch", index)

    # When the image is deleted
    response = ecr.batch_delete_image(repositoryName="arch", imageIds=[{"imageDigest": child}])

    # Then it is refused with ImageReferencedByManifestList
    assert [f["failureCode"] for f in response["failures"]] == ["ImageReferencedByManifestList"]


# --- Batch and SageMaker paging (Batch and SageMaker API references) ---------------------------


def test_batch_job_definitions_page_and_keep_their_status(ecr: Any) -> None:
    # Given five job definitions, the first deregistered
    batch = boto3.client("batch", region_name="us-east-1")
    properties = {"image": "x", "vcpus": 1, "memory": 128}
    arns = [
        batch.register_job_definition(jobDefinitionName=f"j{n}", type="container", containerProperties=properties)[
            "jobDefinitionArn"
        ]
        for n in range(5)
    ]
    batch.deregister_job_definition(jobDefinition=arns[0])

    # When the active ones are described three at a time
    first = batch.describe_job_definitions(status="ACTIVE", maxResults=3)
    second = batch.describe_job_definitions(status="ACTIVE", maxResults=3, nextToken=first["nextToken"])

    # Then the pages hold 3 and 1, and the last has no next token
    assert [len(first["jobDefinitions"]), len(second["jobDefinitions"])] == [3, 1] and "nextToken" not in second
    # And together they are the four active definitions
    listed = {d["jobDefinitionArn"] for page in (first, second) for d in page["jobDefinitions"]}
    assert listed == set(arns[1:])
    # And a maxResults of 101 is refused
    with pytest.raises(ClientError, match="ClientException"):
        batch.describe_job_definitions(maxResults=101)


def test_sagemaker_models_page(ecr: Any) -> None:
    # Given 12 SageMaker models
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/r"
    for n in range(12):
        sagemaker.create_model(ModelName=f"m{n:02d}", PrimaryContainer={"Image": "x"}, ExecutionRoleArn=role)

    # When they are listed without MaxResults, and then the rest
    first = sagemaker.list_models()
    second = sagemaker.list_models(NextToken=first["NextToken"])

    # Then the pages hold 10 and 2, and together they are all 12 models
    assert [len(first["Models"]), len(second["Models"])] == [10, 2] and "NextToken" not in second
    assert len({m["ModelName"] for page in (first, second) for m in page["Models"]}) == 12
