"""The App Runner stand-in (emulator/apprunner/) answers as the botocore model and the App Runner
API reference describe, in-process and served on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from moto import backend_index, mock_aws
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult

from emulator import apprunner, install
from emulator.apprunner import MAX_PAGE, AppRunnerResponse

ACCOUNT = "123456789012"
REPOSITORY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def image(identifier: str = f"{REPOSITORY}@{DIGEST_A}", kind: str = "ECR") -> dict[str, Any]:
    return {"ImageRepository": {"ImageIdentifier": identifier, "ImageRepositoryType": kind}}


def create(client: Any, name: str, identifier: str = f"{REPOSITORY}@{DIGEST_A}") -> dict[str, Any]:
    service: dict[str, Any] = client.create_service(ServiceName=name, SourceConfiguration=image(identifier))["Service"]
    return service


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


@pytest.fixture
def client() -> Iterator[Any]:
    install()
    with mock_aws():
        yield boto3.client("apprunner", region_name="us-east-1")


def test_create_describe_list_update_delete_round_trip(client: Any) -> None:
    # Given the App Runner stand-in
    # When a service is created from an ECR image by digest, with auto deployments off and a tag
    created = client.create_service(
        ServiceName="web-1",
        SourceConfiguration={**image(), "AutoDeploymentsEnabled": False},
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    service = created["Service"]

    # Then it has an operation id, a service id, an ARN and a URL of App Runner's forms, and is RUNNING
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", created["OperationId"])
    assert re.fullmatch(r"[0-9a-f]{32}", service["ServiceId"])
    assert service["ServiceArn"] == f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web-1/{service['ServiceId']}"
    assert re.fullmatch(r"[a-z0-9]{10}\.us-east-1\.awsapprunner\.com", service["ServiceUrl"])
    assert service["Status"] == "RUNNING"
    assert service["CreatedAt"] == service["UpdatedAt"]
    assert service["SourceConfiguration"] == {**image(), "AutoDeploymentsEnabled": False}
    # And its instance, auto scaling and network configurations are there
    # Required in the model's Service shape even when the request leaves them out.
    assert {"InstanceConfiguration", "AutoScalingConfigurationSummary", "NetworkConfiguration"} <= service.keys()

    # When it is described, then the answer is the created service
    described = client.describe_service(ServiceArn=service["ServiceArn"])["Service"]
    assert described == service

    # When the services are listed, then its summary is the one entry
    [summary] = client.list_services()["ServiceSummaryList"]
    assert summary == {
        key: service[key]
        for key in ("ServiceName", "ServiceId", "ServiceArn", "ServiceUrl", "CreatedAt", "UpdatedAt", "Status")
    }

    # When it is updated to another digest
    updated = client.update_service(
        ServiceArn=service["ServiceArn"], SourceConfiguration=image(f"{REPOSITORY}@{DIGEST_B}")
    )

    # Then the new image is its source, auto deployments stay off, and the operation id is new
    assert updated["Service"]["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == f"{REPOSITORY}@{DIGEST_B}"
    assert updated["Service"]["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    assert updated["OperationId"] != created["OperationId"]
    assert updated["Service"]["UpdatedAt"] >= service["UpdatedAt"]
    # And a describe shows the new image
    redeployed = client.describe_service(ServiceArn=service["ServiceArn"])["Service"]
    assert redeployed["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == f"{REPOSITORY}@{DIGEST_B}"

    # When it is deleted
    deleted = client.delete_service(ServiceArn=service["ServiceArn"])["Service"]

    # Then it is DELETED, no longer listed, and not found
    assert deleted["Status"] == "DELETED" and "DeletedAt" in deleted
    assert client.list_services()["ServiceSummaryList"] == []
    with pytest.raises(ClientError) as raised:
        client.describe_service(ServiceArn=service["ServiceArn"])
    assert error_code(raised) == "ResourceNotFoundException"
    # When a service named web-1 is created again, then it is accepted
    # A deleted service no longer holds its name.
    create(client, "web-1")


def test_auto_deployments_default_as_the_model_documents(client: Any) -> None:
    # Given services from this account's ECR, from ECR Public and from another account's ECR
    own = create(client, "own-ecr")
    public = client.create_service(
        ServiceName="public-ecr", SourceConfiguration=image("public.ecr.aws/nginx/nginx:latest", "ECR_PUBLIC")
    )["Service"]
    other = create(client, "other-account", f"210987654321.dkr.ecr.us-east-1.amazonaws.com/app@{DIGEST_A}")

    # Then auto deployments are on only for this account's ECR, as the model documents
    assert own["SourceConfiguration"]["AutoDeploymentsEnabled"] is True
    assert public["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    assert other["SourceConfiguration"]["AutoDeploymentsEnabled"] is False


def test_update_refuses_to_switch_from_an_image_to_code(client: Any) -> None:
    # Given a service created from an image
    arn = create(client, "image-only")["ServiceArn"]
    # And a code repository as a source
    code = {"RepositoryUrl": "https://github.com/example/app", "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"}}

    # When the service is updated to the code repository, then it is refused as an invalid request
    with pytest.raises(ClientError) as raised:
        client.update_service(ServiceArn=arn, SourceConfiguration={"CodeRepository": code})
    assert error_code(raised) == "InvalidRequestException"


def test_list_services_pages_newest_first_with_next_token(client: Any) -> None:
    # Given seven services created one after the other
    names = [f"svc-{n:02d}" for n in range(7)]
    for name in names:
        create(client, name)

    # When the services are listed three at a time, following the next token
    pages = [client.list_services(MaxResults=3)]
    while "NextToken" in pages[-1]:
        pages.append(client.list_services(MaxResults=3, NextToken=pages[-1]["NextToken"]))

    # Then the pages hold 3, 3 and 1 services, the newest first
    assert [len(page["ServiceSummaryList"]) for page in pages] == [3, 3, 1]
    assert [s["ServiceName"] for page in pages for s in page["ServiceSummaryList"]] == names[::-1]


def test_list_services_without_max_results_answers_one_page_of_the_models_maximum(client: Any) -> None:
    # Given the model's maximum page size, and two services more than it
    assert client.meta.service_model.shape_for("ServiceMaxResults").metadata["max"] == MAX_PAGE
    for n in range(MAX_PAGE + 2):
        create(client, f"svc-{n:02d}")

    # When the services are listed without MaxResults, and then the rest
    first = client.list_services()
    rest = client.list_services(NextToken=first["NextToken"])

    # Then the first page is a full page of the maximum, and the second holds the other two and ends
    assert len(first["ServiceSummaryList"]) == MAX_PAGE
    assert len(rest["ServiceSummaryList"]) == 2 and "NextToken" not in rest


def test_max_results_outside_the_models_bounds_is_refused_by_the_service(client: Any) -> None:
    # Given a MaxResults of 0 or above the model's maximum
    # botocore checks the minimum itself but never the maximum.
    # When botocore validates the request, then it refuses 0 itself
    with pytest.raises(ParamValidationError):
        client.list_services(MaxResults=0)
    # And the service refuses a page above the maximum, saying so
    with pytest.raises(ClientError) as raised:
        client.list_services(MaxResults=MAX_PAGE + 1)
    assert error_code(raised) == "InvalidRequestException"
    assert f"less than or equal to {MAX_PAGE}" in str(raised.value)

    # And without botocore's validation, the service refuses 0 too
    unchecked = boto3.client("apprunner", region_name="us-east-1", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as raised:
        unchecked.list_services(MaxResults=0)
    assert error_code(raised) == "InvalidRequestException"


def test_an_invalid_next_token_is_refused(client: Any) -> None:
    # Given a next token the service never gave
    # When the services are listed with it, then it is refused as an invalid request
    with pytest.raises(ClientError) as raised:
        client.list_services(NextToken="not-a-token")
    assert error_code(raised) == "InvalidRequestException"


def test_deleted_services_still_take_their_place_in_a_page(client: Any) -> None:
    # Given one running service, and two services created after it and deleted
    kept = create(client, "kept")
    for name in ("gone-1", "gone-2"):
        client.delete_service(ServiceArn=create(client, name)["ServiceArn"])

    # When the services are listed two at a time
    first = client.list_services(MaxResults=2)
    second = client.list_services(MaxResults=2, NextToken=first["NextToken"])

    # Then the first page is empty but has a next token, and the second holds the running service and ends
    # Stopping at the first empty page would miss a running service, as it would against App Runner.
    assert first["ServiceSummaryList"] == []
    assert [s["ServiceArn"] for s in second["ServiceSummaryList"]] == [kept["ServiceArn"]]
    assert "NextToken" not in second


def test_an_unknown_arn_is_not_found(client: Any) -> None:
    # Given the ARN of a service that does not exist
    arn = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/nothing/{'0' * 32}"

    # When it is described, deleted or updated, then it is not found
    for call in (client.describe_service, client.delete_service, client.update_service):
        with pytest.raises(ClientError) as raised:
            call(ServiceArn=arn)
        assert error_code(raised) == "ResourceNotFoundException"


def test_a_malformed_arn_is_an_invalid_request(client: Any) -> None:
    # Given a service name where an ARN is due
    # When it is described, then it is refused as an invalid request
    with pytest.raises(ClientError) as raised:
        client.describe_service(ServiceArn="web-1")
    assert error_code(raised) == "InvalidRequestException"


def test_a_duplicate_name_is_refused(client: Any) -> None:
    # Given a service named web-1
    create(client, "web-1")

    # When another service named web-1 is created
    with pytest.raises(ClientError) as raised:
        create(client, "web-1", f"{REPOSITORY}@{DIGEST_B}")

    # Then it is refused as an invalid request, and only the first service exists
    assert error_code(raised) == "InvalidRequestException"
    assert len(client.list_services()["ServiceSummaryList"]) == 1


def test_requests_the_model_refuses_are_refused_by_the_service(client: Any) -> None:
    # Given a client that does not validate parameters, and requests the model refuses: no name, no source, an invalid
    # name, an empty source, a Docker Hub source, an image not in a registry
    unchecked = boto3.client("apprunner", region_name="us-east-1", config=Config(parameter_validation=False))
    refused: list[dict[str, Any]] = [
        {"SourceConfiguration": image()},
        {"ServiceName": "web-1"},
        {"ServiceName": "not a name", "SourceConfiguration": image()},
        {"ServiceName": "web-1", "SourceConfiguration": {}},
        {"ServiceName": "web-1", "SourceConfiguration": image(kind="DOCKER_HUB")},
        {"ServiceName": "web-1", "SourceConfiguration": image("nginx:latest")},
    ]

    # When each is sent, then the service refuses it as an invalid request
    for params in refused:
        with pytest.raises(ClientError) as raised:
            unchecked.create_service(**params)
        assert error_code(raised) == "InvalidRequestException", params
    # And no service was created
    assert client.list_services()["ServiceSummaryList"] == []


def test_regions_are_isolated(client: Any) -> None:
    # Given a service in us-east-1, and a client in eu-west-1
    east = create(client, "web-1")
    west = boto3.client("apprunner", region_name="eu-west-1")

    # When eu-west-1 lists and describes, then it has no service and does not find the one in us-east-1
    assert west.list_services()["ServiceSummaryList"] == []
    with pytest.raises(ClientError) as raised:
        west.describe_service(ServiceArn=east["ServiceArn"])
    assert error_code(raised) == "ResourceNotFoundException"

    # And a service of the same name can be created in eu-west-1, which us-east-1 does not list
    same_name = create(west, "web-1")
    assert same_name["ServiceArn"].startswith(f"arn:aws:apprunner:eu-west-1:{ACCOUNT}:service/web-1/")
    assert [s["ServiceArn"] for s in client.list_services()["ServiceSummaryList"]] == [east["ServiceArn"]]
    assert apprunner.backend("eu-west-1").services.keys() == {same_name["ServiceArn"]}


def test_mock_aws_starts_each_time_without_services() -> None:
    # Given a service created in one mock_aws context
    install()
    with mock_aws():
        create(boto3.client("apprunner", region_name="us-east-1"), "web-1")

    # When a new context starts, then it lists no service
    with mock_aws():
        assert boto3.client("apprunner", region_name="us-east-1").list_services()["ServiceSummaryList"] == []


def test_a_monkeypatched_handler_makes_the_operation_fail(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a ListServices handler replaced by one that denies access
    def denied(self: AppRunnerResponse) -> ActionResult:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: apprunner:ListServices")

    monkeypatch.setattr(AppRunnerResponse, "list_services", denied)

    # When the services are listed, then the call fails with AccessDeniedException
    with pytest.raises(ClientError) as raised:
        client.list_services()
    assert error_code(raised) == "AccessDeniedException"


def test_install_is_idempotent() -> None:
    # Given the stand-in installed twice
    install()
    install()

    # Then App Runner's URL patterns are registered once
    assert [service for service, _ in backend_index.backend_url_patterns].count("apprunner") == 1


@pytest.fixture
def served(local_endpoint: str) -> Any:
    install()
    return boto3.client("apprunner", region_name="us-east-1", endpoint_url=local_endpoint)


def test_a_local_server_serves_the_same_api(served: Any) -> None:
    # Given the stand-in served on 127.0.0.1
    # When a service is created, then it has an App Runner ARN
    service = create(served, "served-1")
    assert service["ServiceArn"].startswith(f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/served-1/")
    # And when it is updated to another digest, a describe shows the new image
    served.update_service(ServiceArn=service["ServiceArn"], SourceConfiguration=image(f"{REPOSITORY}@{DIGEST_B}"))

    described = served.describe_service(ServiceArn=service["ServiceArn"])["Service"]
    assert described["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == f"{REPOSITORY}@{DIGEST_B}"
    # And a page above the maximum is refused, and the service is listed
    with pytest.raises(ClientError) as raised:
        served.list_services(MaxResults=MAX_PAGE + 1)
    assert error_code(raised) == "InvalidRequestException"
    assert [s["ServiceArn"] for s in served.list_services()["ServiceSummaryList"]] == [service["ServiceArn"]]

    # When it is deleted, then it is not found
    served.delete_service(ServiceArn=service["ServiceArn"])
    with pytest.raises(ClientError) as raised:
        served.describe_service(ServiceArn=service["ServiceArn"])
    assert error_code(raised) == "ResourceNotFoundException"
