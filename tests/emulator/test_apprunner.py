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
    created = client.create_service(
        ServiceName="web-1",
        SourceConfiguration={**image(), "AutoDeploymentsEnabled": False},
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    service = created["Service"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", created["OperationId"])
    assert re.fullmatch(r"[0-9a-f]{32}", service["ServiceId"])
    assert service["ServiceArn"] == f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web-1/{service['ServiceId']}"
    assert re.fullmatch(r"[a-z0-9]{10}\.us-east-1\.awsapprunner\.com", service["ServiceUrl"])
    assert service["Status"] == "RUNNING"
    assert service["CreatedAt"] == service["UpdatedAt"]
    assert service["SourceConfiguration"] == {**image(), "AutoDeploymentsEnabled": False}
    # Required in the model's Service shape even when the request leaves them out.
    assert {"InstanceConfiguration", "AutoScalingConfigurationSummary", "NetworkConfiguration"} <= service.keys()

    described = client.describe_service(ServiceArn=service["ServiceArn"])["Service"]
    assert described == service

    [summary] = client.list_services()["ServiceSummaryList"]
    assert summary == {
        key: service[key]
        for key in ("ServiceName", "ServiceId", "ServiceArn", "ServiceUrl", "CreatedAt", "UpdatedAt", "Status")
    }

    updated = client.update_service(
        ServiceArn=service["ServiceArn"], SourceConfiguration=image(f"{REPOSITORY}@{DIGEST_B}")
    )
    assert updated["Service"]["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == f"{REPOSITORY}@{DIGEST_B}"
    assert updated["Service"]["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    assert updated["OperationId"] != created["OperationId"]
    assert updated["Service"]["UpdatedAt"] >= service["UpdatedAt"]
    redeployed = client.describe_service(ServiceArn=service["ServiceArn"])["Service"]
    assert redeployed["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == f"{REPOSITORY}@{DIGEST_B}"

    deleted = client.delete_service(ServiceArn=service["ServiceArn"])["Service"]
    assert deleted["Status"] == "DELETED" and "DeletedAt" in deleted
    assert client.list_services()["ServiceSummaryList"] == []
    with pytest.raises(ClientError) as raised:
        client.describe_service(ServiceArn=service["ServiceArn"])
    assert error_code(raised) == "ResourceNotFoundException"
    # A deleted service no longer holds its name.
    create(client, "web-1")


def test_auto_deployments_default_as_the_model_documents(client: Any) -> None:
    own = create(client, "own-ecr")
    public = client.create_service(
        ServiceName="public-ecr", SourceConfiguration=image("public.ecr.aws/nginx/nginx:latest", "ECR_PUBLIC")
    )["Service"]
    other = create(client, "other-account", f"210987654321.dkr.ecr.us-east-1.amazonaws.com/app@{DIGEST_A}")

    assert own["SourceConfiguration"]["AutoDeploymentsEnabled"] is True
    assert public["SourceConfiguration"]["AutoDeploymentsEnabled"] is False
    assert other["SourceConfiguration"]["AutoDeploymentsEnabled"] is False


def test_update_refuses_to_switch_from_an_image_to_code(client: Any) -> None:
    arn = create(client, "image-only")["ServiceArn"]
    code = {"RepositoryUrl": "https://github.com/example/app", "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"}}

    with pytest.raises(ClientError) as raised:
        client.update_service(ServiceArn=arn, SourceConfiguration={"CodeRepository": code})
    assert error_code(raised) == "InvalidRequestException"


def test_list_services_pages_newest_first_with_next_token(client: Any) -> None:
    names = [f"svc-{n:02d}" for n in range(7)]
    for name in names:
        create(client, name)

    pages = [client.list_services(MaxResults=3)]
    while "NextToken" in pages[-1]:
        pages.append(client.list_services(MaxResults=3, NextToken=pages[-1]["NextToken"]))

    assert [len(page["ServiceSummaryList"]) for page in pages] == [3, 3, 1]
    assert [s["ServiceName"] for page in pages for s in page["ServiceSummaryList"]] == names[::-1]


def test_list_services_without_max_results_answers_one_page_of_the_models_maximum(client: Any) -> None:
    assert client.meta.service_model.shape_for("ServiceMaxResults").metadata["max"] == MAX_PAGE
    for n in range(MAX_PAGE + 2):
        create(client, f"svc-{n:02d}")

    first = client.list_services()
    rest = client.list_services(NextToken=first["NextToken"])

    assert len(first["ServiceSummaryList"]) == MAX_PAGE
    assert len(rest["ServiceSummaryList"]) == 2 and "NextToken" not in rest


def test_max_results_outside_the_models_bounds_is_refused_by_the_service(client: Any) -> None:
    # botocore checks the minimum itself but never the maximum.
    with pytest.raises(ParamValidationError):
        client.list_services(MaxResults=0)
    with pytest.raises(ClientError) as raised:
        client.list_services(MaxResults=MAX_PAGE + 1)
    assert error_code(raised) == "InvalidRequestException"
    assert f"less than or equal to {MAX_PAGE}" in str(raised.value)

    unchecked = boto3.client("apprunner", region_name="us-east-1", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as raised:
        unchecked.list_services(MaxResults=0)
    assert error_code(raised) == "InvalidRequestException"


def test_an_invalid_next_token_is_refused(client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        client.list_services(NextToken="not-a-token")
    assert error_code(raised) == "InvalidRequestException"


def test_deleted_services_still_take_their_place_in_a_page(client: Any) -> None:
    kept = create(client, "kept")
    for name in ("gone-1", "gone-2"):
        client.delete_service(ServiceArn=create(client, name)["ServiceArn"])

    first = client.list_services(MaxResults=2)
    second = client.list_services(MaxResults=2, NextToken=first["NextToken"])

    # Stopping at the first empty page would miss a running service, as it would against App Runner.
    assert first["ServiceSummaryList"] == []
    assert [s["ServiceArn"] for s in second["ServiceSummaryList"]] == [kept["ServiceArn"]]
    assert "NextToken" not in second


def test_an_unknown_arn_is_not_found(client: Any) -> None:
    arn = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/nothing/{'0' * 32}"
    for call in (client.describe_service, client.delete_service, client.update_service):
        with pytest.raises(ClientError) as raised:
            call(ServiceArn=arn)
        assert error_code(raised) == "ResourceNotFoundException"


def test_a_malformed_arn_is_an_invalid_request(client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        client.describe_service(ServiceArn="web-1")
    assert error_code(raised) == "InvalidRequestException"


def test_a_duplicate_name_is_refused(client: Any) -> None:
    create(client, "web-1")
    with pytest.raises(ClientError) as raised:
        create(client, "web-1", f"{REPOSITORY}@{DIGEST_B}")
    assert error_code(raised) == "InvalidRequestException"
    assert len(client.list_services()["ServiceSummaryList"]) == 1


def test_requests_the_model_refuses_are_refused_by_the_service(client: Any) -> None:
    unchecked = boto3.client("apprunner", region_name="us-east-1", config=Config(parameter_validation=False))
    refused: list[dict[str, Any]] = [
        {"SourceConfiguration": image()},
        {"ServiceName": "web-1"},
        {"ServiceName": "not a name", "SourceConfiguration": image()},
        {"ServiceName": "web-1", "SourceConfiguration": {}},
        {"ServiceName": "web-1", "SourceConfiguration": image(kind="DOCKER_HUB")},
        {"ServiceName": "web-1", "SourceConfiguration": image("nginx:latest")},
    ]
    for params in refused:
        with pytest.raises(ClientError) as raised:
            unchecked.create_service(**params)
        assert error_code(raised) == "InvalidRequestException", params
    assert client.list_services()["ServiceSummaryList"] == []


def test_regions_are_isolated(client: Any) -> None:
    east = create(client, "web-1")
    west = boto3.client("apprunner", region_name="eu-west-1")

    assert west.list_services()["ServiceSummaryList"] == []
    with pytest.raises(ClientError) as raised:
        west.describe_service(ServiceArn=east["ServiceArn"])
    assert error_code(raised) == "ResourceNotFoundException"

    same_name = create(west, "web-1")
    assert same_name["ServiceArn"].startswith(f"arn:aws:apprunner:eu-west-1:{ACCOUNT}:service/web-1/")
    assert [s["ServiceArn"] for s in client.list_services()["ServiceSummaryList"]] == [east["ServiceArn"]]
    assert apprunner.backend("eu-west-1").services.keys() == {same_name["ServiceArn"]}


def test_mock_aws_starts_each_time_without_services() -> None:
    install()
    with mock_aws():
        create(boto3.client("apprunner", region_name="us-east-1"), "web-1")
    with mock_aws():
        assert boto3.client("apprunner", region_name="us-east-1").list_services()["ServiceSummaryList"] == []


def test_a_monkeypatched_handler_makes_the_operation_fail(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: AppRunnerResponse) -> ActionResult:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: apprunner:ListServices")

    monkeypatch.setattr(AppRunnerResponse, "list_services", denied)

    with pytest.raises(ClientError) as raised:
        client.list_services()
    assert error_code(raised) == "AccessDeniedException"


def test_install_is_idempotent() -> None:
    install()
    install()
    assert [service for service, _ in backend_index.backend_url_patterns].count("apprunner") == 1


@pytest.fixture
def served(local_endpoint: str) -> Any:
    install()
    return boto3.client("apprunner", region_name="us-east-1", endpoint_url=local_endpoint)


def test_a_local_server_serves_the_same_api(served: Any) -> None:
    service = create(served, "served-1")
    assert service["ServiceArn"].startswith(f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/served-1/")
    served.update_service(ServiceArn=service["ServiceArn"], SourceConfiguration=image(f"{REPOSITORY}@{DIGEST_B}"))

    described = served.describe_service(ServiceArn=service["ServiceArn"])["Service"]
    assert described["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] == f"{REPOSITORY}@{DIGEST_B}"
    with pytest.raises(ClientError) as raised:
        served.list_services(MaxResults=MAX_PAGE + 1)
    assert error_code(raised) == "InvalidRequestException"
    assert [s["ServiceArn"] for s in served.list_services()["ServiceSummaryList"]] == [service["ServiceArn"]]
    served.delete_service(ServiceArn=service["ServiceArn"])
    with pytest.raises(ClientError) as raised:
        served.describe_service(ServiceArn=service["ServiceArn"])
    assert error_code(raised) == "ResourceNotFoundException"
