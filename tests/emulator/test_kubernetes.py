"""The Kubernetes API stand-in (emulator/kubernetes/) answers as an EKS cluster's API server does: TLS
verified against the cluster CA, IAM tokens as `aws eks get-token` makes them, paged lists, Status errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import urllib3
from moto import mock_aws

from emulator.kubernetes import (
    CLUSTER_ID_HEADER,
    DEFAULT_USER,
    TOKEN_PREFIX,
    CertificateAuthority,
    KubernetesAPI,
    pod,
    serve_cluster,
    unreachable_endpoint,
    workload,
)

CLUSTER = "prod"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def eks_sts_client() -> Any:
    """An STS client set up as awscli's `eks get-token` sets up its own (STSClientFactory): the cluster name
    travels from the call's parameters to the request context, and from there into a header before signing."""
    sts = boto3.client("sts", region_name="us-east-1")

    def retrieve_cluster(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if CLUSTER_ID_HEADER in params:
            context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)

    def add_cluster_header(request: Any, **_: Any) -> None:
        if CLUSTER_ID_HEADER in request.context:
            request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]

    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", retrieve_cluster)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    return sts


Presign = Callable[..., str]


@pytest.fixture(scope="module")
def presign() -> Iterator[Presign]:
    """Presigned GetCallerIdentity URLs as `aws eks get-token` makes them: GET, 60 s, `x-k8s-aws-id` signed."""
    with mock_aws():
        sts = eks_sts_client()

        def presigned_url(cluster: str | None = CLUSTER, *, expires: int = 60) -> str:
            params = {CLUSTER_ID_HEADER: cluster} if cluster is not None else {}
            url: str = sts.generate_presigned_url(
                "get_caller_identity", Params=params, ExpiresIn=expires, HttpMethod="GET"
            )
            return url

        yield presigned_url


def token_for(url: str) -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def api() -> Iterator[KubernetesAPI]:
    with KubernetesAPI() as server:
        yield server


@pytest.fixture
def token(presign: Presign) -> str:
    return token_for(presign())


def pool_for(ca_pem: bytes) -> urllib3.PoolManager:
    # A str: urllib3 hands ca_cert_data to SSLContext.load_verify_locations, which reads bytes as DER.
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_cert_data=ca_pem.decode())


@pytest.fixture
def client(api: KubernetesAPI) -> Iterator[urllib3.PoolManager]:
    pool = pool_for(api.ca_pem)
    yield pool
    pool.clear()


Get = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture
def get(api: KubernetesAPI, client: urllib3.PoolManager, token: str) -> Get:
    def request(
        path: str, *, authorization: str | None = f"Bearer {token}", method: str = "GET", **fields: Any
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Accept": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        response = client.request(method, api.endpoint + path, fields=fields, headers=headers, retries=False)
        return response.status, json.loads(response.data)

    return request


def names(listing: dict[str, Any]) -> list[str]:
    return [f"{item['metadata']['namespace']}/{item['metadata']['name']}" for item in listing["items"]]


def test_lists_pods_over_verified_tls_with_an_eks_token(api: KubernetesAPI, get: Get, token: str) -> None:
    # Given one pod running an image by digest, and a client that trusts the cluster CA and has an EKS token
    api.add(pod("web", "front-1", [("app", f"{REGISTRY}/front@{DIGEST_A}")]))

    # When it lists the pods
    status, listing = get("/api/v1/pods")

    # Then it gets a PodList of that pod, as the API server writes it
    assert status == 200
    assert listing["kind"] == "PodList"
    assert listing["apiVersion"] == "v1"
    assert listing["metadata"] == {"resourceVersion": listing["metadata"]["resourceVersion"]}
    [item] = listing["items"]
    # As the API server's JSON lists: items carry no kind or apiVersion.
    assert "kind" not in item and "apiVersion" not in item
    assert item["spec"]["containers"][0]["image"] == f"{REGISTRY}/front@{DIGEST_A}"
    # And the stand-in saw one GET with the bearer token, and accepted it
    [request] = api.requests
    assert (request.method, request.path, request.auth_error) == ("GET", "/api/v1/pods", "")
    assert request.headers["authorization"] == f"Bearer {token}"


def test_token_is_the_one_aws_eks_get_token_makes(token: str) -> None:
    # Given the token the fixture made as `aws eks get-token` does
    # When its presigned URL is decoded
    url = base64.urlsafe_b64decode(token.removeprefix(TOKEN_PREFIX) + "==").decode()
    query = dict(parse_qsl(urlsplit(url).query))

    # Then it is a GetCallerIdentity on STS in us-east-1, valid 60 s, that signs the cluster header
    assert urlsplit(url).netloc == "sts.us-east-1.amazonaws.com"
    assert query["Action"] == "GetCallerIdentity" and query["Version"] == "2011-06-15"
    assert query["X-Amz-Expires"] == "60"
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"


def test_namespaced_path_lists_that_namespace_only(api: KubernetesAPI, get: Get) -> None:
    # Given a deployment in namespace web and one in namespace batch
    api.add(
        workload("Deployment", "web", "front", [f"{REGISTRY}/front@{DIGEST_A}"]),
        workload("Deployment", "batch", "worker", [f"{REGISTRY}/worker@{DIGEST_B}"]),
    )

    # When the deployments of namespace web are listed
    status, listing = get("/apis/apps/v1/namespaces/web/deployments")

    # Then only the one in web is listed, as a DeploymentList
    assert status == 200
    assert (listing["kind"], listing["apiVersion"]) == ("DeploymentList", "apps/v1")
    assert names(listing) == ["web/front"]


def test_pages_return_every_item_once_with_remaining_item_count(api: KubernetesAPI, get: Get) -> None:
    # Given seven pods in three namespaces
    api.add(*(pod(f"ns-{i % 3}", f"pod-{i:02}", [("app", f"{REGISTRY}/app:{i}")]) for i in range(7)))

    # When the pods are listed three at a time, following the continue token
    seen: list[str] = []
    remaining: list[int | None] = []
    token = ""
    while True:
        status, page = get("/api/v1/pods", limit=3, **({"continue": token} if token else {}))
        assert status == 200
        assert len(page["items"]) <= 3
        seen += names(page)
        remaining.append(page["metadata"].get("remainingItemCount"))
        token = page["metadata"].get("continue", "")
        if not token:
            break

    # Then every pod is listed once, in order of namespace and name
    assert sorted(seen) == seen  # key order: namespace, then name
    assert len(seen) == len(set(seen)) == 7
    # And each page but the last says how many items remain
    assert remaining == [4, 1, None]


def test_pages_are_one_snapshot(api: KubernetesAPI, get: Get) -> None:
    # Given four pods, and a first page of two
    api.add(*(pod("web", f"pod-{i}", [("app", f"{REGISTRY}/app:1")]) for i in range(4)))
    _, first = get("/api/v1/pods", limit=2)

    # When a pod is added and one is deleted before the second page is asked for
    api.add(pod("web", "pod-9", [("app", f"{REGISTRY}/app:1")]))
    api.delete("Pod", "web", "pod-3")
    _, second = get("/api/v1/pods", limit=2, **{"continue": first["metadata"]["continue"]})

    # Then the two pages are the four pods as they were at the first page, of one resource version
    assert names(first) + names(second) == [f"web/pod-{i}" for i in range(4)]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    # And a new list shows the change
    _, fresh = get("/api/v1/pods")
    assert names(fresh) == ["web/pod-0", "web/pod-1", "web/pod-2", "web/pod-9"]


def test_compacted_continue_token_answers_410_expired(api: KubernetesAPI, get: Get) -> None:
    # Given three pods, and a first page of one
    api.add(*(pod("web", f"pod-{i}", [("app", f"{REGISTRY}/app:1")]) for i in range(3)))
    _, first = get("/api/v1/pods", limit=1)

    # When the store is compacted and the second page is asked for
    api.compact()
    status, body = get("/api/v1/pods", limit=1, **{"continue": first["metadata"]["continue"]})

    # Then the answer is 410 Expired, a Status that says the continue parameter is too old
    assert status == 410
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert (body["reason"], body["code"]) == ("Expired", 410)
    assert body["message"].startswith("The provided continue parameter is too old")


def test_undecodable_continue_token_answers_400(api: KubernetesAPI, get: Get) -> None:
    # Given a continue token that cannot be decoded
    # When the pods are listed with it
    status, body = get("/api/v1/pods", limit=1, **{"continue": "not a token!"})

    # Then the answer is 400 BadRequest, saying the continue key is not valid
    assert status == 400
    assert (body["reason"], body["code"]) == ("BadRequest", 400)
    assert body["message"].startswith("invalid continue token: continue key is not valid")


def stale(url: str) -> str:
    signed_at = datetime.now(timezone.utc) - timedelta(minutes=16)
    return with_query(url, **{"X-Amz-Date": signed_at.strftime("%Y%m%dT%H%M%SZ")})


def bearer(url: str) -> str:
    return f"Bearer {token_for(url)}"


# case -> (the Authorization header, made with a Presign; a fragment of why the stand-in refuses it)
BAD_TOKENS: dict[str, tuple[Callable[[Presign], str | None], str]] = {
    "none": (lambda sign: None, "no bearer token"),
    "basic scheme": (lambda sign: "Basic dXNlcjpwYXNz", "no bearer token"),
    "other prefix": (lambda sign: bearer(sign()).replace("k8s-aws-v1.", "k8s-aws-v2.", 1), "prefix"),
    "padded base64": (lambda sign: bearer(sign()) + "=", "base64url"),
    "cluster header not signed": (lambda sign: bearer(sign(None)), "did not sign"),
    "not sts": (lambda sign: bearer(sign().replace("sts.us-east-1.amazonaws.com", "sts.example.com")), "hostname"),
    "sts lookalike": (lambda sign: bearer(sign().replace(".com/", ".com.example.net/", 1)), "hostname"),
    "http": (lambda sign: bearer(sign().replace("https:", "http:", 1)), "scheme"),
    "expires 900": (lambda sign: bearer(sign(expires=900)), "X-Amz-Expires"),
    "other action": (lambda sign: bearer(with_query(sign(), Action="GetSessionToken")), "action"),
    "other version": (lambda sign: bearer(with_query(sign(), Version="2011-06-14")), "version"),
    "extra parameter": (lambda sign: bearer(with_query(sign(), Foo="bar")), "non-whitelisted"),
    "stale": (lambda sign: bearer(stale(sign())), "expired"),
}


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_bad_token_answers_401(api: KubernetesAPI, get: Get, presign: Presign, case: str) -> None:
    # Given an Authorization header that is wrong in one way
    authorization, reason = BAD_TOKENS[case]

    # When the pods are listed with it
    status, body = get("/api/v1/pods", authorization=authorization(presign))

    # Then the answer is 401 Unauthorized, and the stand-in records why it refused the token
    assert (status, body) == (401, UNAUTHORIZED)
    assert reason in api.requests[-1].auth_error


def test_anonymous_auth_answers_403_for_system_anonymous() -> None:
    # Given a cluster that lets anonymous requests in, and a client without a token
    # When it lists the deployments
    with KubernetesAPI(anonymous_auth=True) as api:
        pool = pool_for(api.ca_pem)
        response = pool.request("GET", f"{api.endpoint}/apis/apps/v1/deployments", retries=False)
        pool.clear()

    # Then the answer is 403 Forbidden for system:anonymous, as the API server words it
    assert response.status == 403
    assert json.loads(response.data) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps is forbidden: User "system:anonymous" cannot list resource "deployments"'
        ' in API group "apps" at the cluster scope',
        "reason": "Forbidden",
        "details": {"group": "apps", "kind": "deployments"},
        "code": 403,
    }


def test_forbidden_mode_answers_403(api: KubernetesAPI, get: Get) -> None:
    # Given a cluster that forbids everything
    api.forbid()

    # When the pods are listed
    status, body = get("/api/v1/pods")

    # Then the answer is 403 Forbidden for the default user, as the API server words it
    assert status == 403
    assert (body["kind"], body["status"], body["reason"], body["code"]) == ("Status", "Failure", "Forbidden", 403)
    assert body["message"] == (
        f'pods is forbidden: User "{DEFAULT_USER}" cannot list resource "pods" in API group "" at the cluster scope'
    )
    assert body["details"] == {"kind": "pods"}
    # And once it recovers, the pods are listed
    api.recover()
    assert get("/api/v1/pods")[0] == 200


def test_injected_failure_answers_its_status_once(api: KubernetesAPI, get: Get) -> None:
    # Given one injected failure with status 503 on the cronjobs path
    api.fail("/apis/batch/v1/cronjobs", 503, times=1)

    # When the cronjobs are listed
    status, body = get("/apis/batch/v1/cronjobs")

    # Then the answer is 503 ServiceUnavailable
    assert (status, body["reason"], body["code"]) == (503, "ServiceUnavailable", 503)
    # And the next request, and requests of other paths, succeed
    assert get("/apis/batch/v1/cronjobs")[0] == 200
    assert get("/api/v1/pods")[0] == 200


def test_unknown_path_answers_404_status(get: Get) -> None:
    # Given a path the API does not serve
    # When it is asked for
    status, body = get("/apis/apps/v1/widgets")

    # Then the answer is 404 NotFound, as the API server words it
    assert status == 404
    assert (body["reason"], body["message"]) == ("NotFound", "the server could not find the requested resource")


def test_writes_answer_405(get: Get) -> None:
    # Given the stand-in, which serves reads only
    # When a DELETE of the pods is sent
    status, body = get("/api/v1/pods", method="DELETE")

    # Then the answer is 405 MethodNotAllowed
    assert (status, body["reason"]) == (405, "MethodNotAllowed")


def test_selectors_are_refused_rather_than_ignored(get: Get) -> None:
    # Given a field selector, which the stand-in does not apply
    # When the pods are listed with it
    status, body = get("/api/v1/pods", fieldSelector="status.phase=Running")

    # Then the answer is 400 BadRequest, not a list that ignores it
    assert (status, body["reason"]) == (400, "BadRequest")


def test_client_trusting_another_ca_fails_tls(api: KubernetesAPI) -> None:
    # Given a client that trusts another CA
    pool = pool_for(CertificateAuthority().pem)

    # When it lists the pods, then TLS fails to verify the certificate
    with pytest.raises(urllib3.exceptions.SSLError, match="certificate verify failed"):
        pool.request("GET", f"{api.endpoint}/api/v1/pods", retries=False)
    pool.clear()


def test_certificate_also_names_localhost(api: KubernetesAPI, client: urllib3.PoolManager) -> None:
    # Given the stand-in's port
    port = urlsplit(api.endpoint).port

    # When the pods are asked for at localhost without a token
    response = client.request("GET", f"https://localhost:{port}/api/v1/pods", retries=False)

    # Then TLS is verified, and the answer is 401
    assert response.status == 401


def test_stopped_server_refuses_connections_even_kept_alive(api: KubernetesAPI, get: Get) -> None:
    # Given a server that answered once, over a kept-alive connection
    assert get("/api/v1/pods")[0] == 200

    # When it stops
    api.stop()

    # Then the next request cannot connect
    with pytest.raises(urllib3.exceptions.NewConnectionError):
        get("/api/v1/pods")


def test_restarted_server_serves_the_same_endpoint(api: KubernetesAPI, get: Get) -> None:
    # Given a stopped server and its endpoint
    endpoint = api.endpoint
    api.stop()

    # When it starts again
    api.start()

    # Then it serves the same endpoint
    assert api.endpoint == endpoint
    assert get("/api/v1/pods")[0] == 200


def test_unreachable_endpoint_refuses_connections(client: urllib3.PoolManager) -> None:
    # Given an endpoint where nothing listens, when it is asked for, then the connection is refused
    with pytest.raises(urllib3.exceptions.NewConnectionError):
        client.request("GET", f"{unreachable_endpoint()}/api/v1/pods", retries=False)


def test_deployment_and_cronjob_hold_images_where_the_api_puts_them(api: KubernetesAPI, get: Get) -> None:
    # Given a deployment scaled to zero with two containers and an init container, and a cronjob
    api.add(
        workload(
            "Deployment",
            "web",
            "front",
            [f"{REGISTRY}/front@{DIGEST_A}", f"{REGISTRY}/sidecar:1.2"],
            init_images=[f"{REGISTRY}/migrate:7"],
            replicas=0,
        ),
        workload("CronJob", "batch", "report", [f"{REGISTRY}/report@{DIGEST_B}"]),
    )

    # When both are listed
    [deployment] = get("/apis/apps/v1/deployments")[1]["items"]
    [cronjob] = get("/apis/batch/v1/cronjobs")[1]["items"]

    # Then the deployment keeps its replicas, containers and init containers in its pod template
    assert deployment["spec"]["replicas"] == 0
    template = deployment["spec"]["template"]["spec"]
    assert [(c["name"], c["image"]) for c in template["containers"]] == [
        ("front", f"{REGISTRY}/front@{DIGEST_A}"),
        ("sidecar", f"{REGISTRY}/sidecar:1.2"),
    ]
    assert [c["image"] for c in template["initContainers"]] == [f"{REGISTRY}/migrate:7"]
    # And the cronjob holds its pod in the job template, with restart policy Never
    assert "template" not in cronjob["spec"]
    job_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert [c["image"] for c in job_pod["containers"]] == [f"{REGISTRY}/report@{DIGEST_B}"]
    assert job_pod["restartPolicy"] == "Never"


def test_pod_reports_container_statuses_as_the_kubelet_does(api: KubernetesAPI, get: Get) -> None:
    # Given a pod with a running container, a waiting one, a completed init container and an ephemeral container
    api.add(
        pod(
            "web",
            "front-1",
            [("app", f"{REGISTRY}/front:1.0"), ("proxy", f"{REGISTRY}/proxy:2")],
            [("app", f"{REGISTRY}/front:1.0", f"{REGISTRY}/front@{DIGEST_A}"), ("proxy", f"{REGISTRY}/proxy:2", "")],
            init_containers=[("migrate", f"{REGISTRY}/migrate:7")],
            init_statuses=[("migrate", f"{REGISTRY}/migrate:7", f"{REGISTRY}/migrate@{DIGEST_B}")],
            ephemeral_containers=[("debugger", "docker.io/library/busybox:1.36")],
            ephemeral_statuses=[
                ("debugger", "docker.io/library/busybox:1.36", "docker.io/library/busybox@" + DIGEST_B)
            ],
        )
    )

    # When the pods are listed
    [item] = get("/api/v1/pods")[1]["items"]

    # Then the running container reports the digest it runs as its imageID, and the waiting one none
    app, proxy = item["status"]["containerStatuses"]
    assert (app["image"], app["imageID"], app["state"].keys()) == (
        f"{REGISTRY}/front:1.0",
        f"{REGISTRY}/front@{DIGEST_A}",
        {"running"},
    )
    assert (proxy["imageID"], proxy["state"].keys()) == ("", {"waiting"})
    # And the pod is Pending, the init container Completed with its digest, and the ephemeral one has its digest
    assert item["status"]["phase"] == "Pending"
    [init] = item["status"]["initContainerStatuses"]
    assert (init["imageID"], init["state"]["terminated"]["reason"]) == (f"{REGISTRY}/migrate@{DIGEST_B}", "Completed")
    [debugger] = item["status"]["ephemeralContainerStatuses"]
    assert debugger["imageID"] == "docker.io/library/busybox@" + DIGEST_B
    assert item["spec"]["ephemeralContainers"][0]["image"] == "docker.io/library/busybox:1.36"


def test_serve_cluster_describes_the_stand_in(api: KubernetesAPI, token: str) -> None:
    # Given the stand-in served as an EKS cluster with authentication mode API
    with mock_aws():
        serve_cluster(api, CLUSTER, authentication_mode="API")

        # When EKS describes and lists the clusters
        eks = boto3.client("eks", region_name="us-east-1")
        cluster = eks.describe_cluster(name=CLUSTER)["cluster"]
        listed = eks.list_clusters()["clusters"]

    # Then the cluster's endpoint, CA, authentication mode and status are the stand-in's, and it is the one listed
    assert cluster["endpoint"] == api.endpoint
    assert base64.b64decode(cluster["certificateAuthority"]["data"]) == api.ca_pem
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["status"] == "ACTIVE"
    assert listed == [CLUSTER]
    # And a client built from DescribeCluster alone reaches the stand-in with a token
    # What a client builds from DescribeCluster alone reaches the stand-in and trusts it.
    pool = pool_for(base64.b64decode(cluster["certificateAuthority"]["data"]))
    response = pool.request(
        "GET",
        f"{cluster['endpoint']}/api/v1/pods",
        headers={"Authorization": f"Bearer {token}"},
        retries=False,
    )
    pool.clear()
    assert response.status == 200
