"""The Kubernetes API stand-in's HTTP server: `KubernetesAPI` serves the stored objects read-only over HTTPS on
127.0.0.1, authenticating EKS tokens (tokens.py), then authorizing, then answering with a page of a list
(paging.py) or a Status error (status.py), as the API server's filter chain orders them."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from emulator.kubernetes.paging import list_page
from emulator.kubernetes.status import Answer, Problem
from emulator.kubernetes.store import BY_PATH, Resource, Store
from emulator.kubernetes.tls import CertificateAuthority, server_context
from emulator.kubernetes.tokens import DEFAULT_USER, TOKEN_LIFETIME, token_error

_PATH = re.compile(
    r"/(?:api/(?P<core>v1)|apis/(?P<group>[a-z0-9.-]+)/(?P<version>v[0-9a-z]+))"
    r"(?:/namespaces/(?P<namespace>[a-z0-9-]+))?/(?P<plural>[a-z]+)"
)
_VERBS = {"GET": "list", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "deletecollection"}


@dataclass(frozen=True)
class Request:
    """One request as received: `query` as parse_qs gives it, header names lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    # Why the token was refused ("" if accepted): the 401 body says only "Unauthorized", as the API server's does.
    auth_error: str


@dataclass
class _Failure:
    path: str | None
    status: int
    times: int | None


class KubernetesAPI:
    """A cluster's Kubernetes API server on https://127.0.0.1:<free port>, serving stored objects read-only."""

    def __init__(
        self,
        *,
        ca: CertificateAuthority | None = None,
        anonymous_auth: bool = False,
        token_lifetime: timedelta = TOKEN_LIFETIME,
    ) -> None:
        self.ca = ca or CertificateAuthority()
        self.ca_pem: bytes = self.ca.pem
        self.anonymous_auth = anonymous_auth
        self.token_lifetime = token_lifetime
        self.requests: list[Request] = []
        # One lock for the requests, the failure controls and the stored objects.
        self._lock = threading.RLock()
        self._store = Store(self._lock)
        self._forbidden_user: str | None = None
        self._failures: list[_Failure] = []
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # Lifecycle

    def start(self) -> KubernetesAPI:
        if self._server is not None:
            return self
        # The same port again after stop(): the endpoint moto describes stays right.
        self._server = _TLSServer(("127.0.0.1", self._port or 0), _Handler, api=self, context=server_context(self.ca))
        self._port = int(self._server.server_address[1])
        # shutdown() waits for the loop's next poll; the default 0.5 s would make every test's teardown slow.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="kubernetes-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections: the endpoint refuses connections from now on."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> KubernetesAPI:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """`https://127.0.0.1:<port>`, as EKS reports an endpoint: no trailing slash. Still the same after stop()."""
        if self._port is None:
            raise RuntimeError("the Kubernetes API stand-in has not been started")
        return f"https://127.0.0.1:{self._port}"

    # Objects

    def add(self, *objects: dict[str, Any]) -> None:
        """Store objects (a copy of each), routed by `kind`; one with the same namespace and name is replaced."""
        self._store.add(*objects)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        self._store.delete(kind, namespace, name)

    # Failure controls

    def forbid(self, user: str = DEFAULT_USER) -> None:
        """Answer 403 to every authenticated request: `user` is mapped but has no RBAC permission."""
        with self._lock:
            self._forbidden_user = user

    def fail(self, path: str | None, status: int, *, times: int | None = None) -> None:
        """Answer `status` (a Status body) to authenticated requests for `path` (None: any), `times` times."""
        with self._lock:
            self._failures.append(_Failure(path, status, times))

    def recover(self) -> None:
        """Undo forbid() and fail()."""
        with self._lock:
            self._forbidden_user = None
            self._failures.clear()

    def compact(self) -> None:
        """Expire every continue token issued so far, as etcd's compaction does once the cluster has moved on
        (the API server compacts every 5 minutes, and a live cluster writes leases and events all the time)."""
        self._store.compact()

    # Serving

    def _answer(self, method: str, target: str, headers: dict[str, str]) -> Answer:
        """The answer to one request: authentication, then authorization, then the handler, as the API server's
        filter chain orders them."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        error = token_error(headers.get("authorization"), lifetime=self.token_lifetime)
        with self._lock:
            self.requests.append(Request(method, parts.path, query, dict(headers), error))
        match = _PATH.fullmatch(parts.path)
        resource = None
        if match is not None:
            group, version = ("", "v1") if match["core"] else (match["group"], match["version"])
            resource = BY_PATH.get((group, version, match["plural"]))
        namespace = match["namespace"] if match is not None else None
        try:
            user = self._authenticate(error)
            self._authorize(user, method, parts.path, resource, namespace)
            self._injected(parts.path)
            if resource is None:
                raise Problem(404, "the server could not find the requested resource", {})
            if method != "GET":
                raise Problem(405, f"the server does not allow this method on the requested resource ({method})", {})
            return Answer(200, list_page(self._store, resource, namespace, query))
        except Problem as problem:
            return problem.answer

    def _authenticate(self, error: str) -> str:
        if not error:
            return DEFAULT_USER
        if error == "no bearer token" and self.anonymous_auth:
            return "system:anonymous"
        raise Problem(401, "Unauthorized")

    def _authorize(self, user: str, method: str, path: str, resource: Resource | None, namespace: str | None) -> None:
        with self._lock:
            if self._forbidden_user is not None and user != "system:anonymous":
                user = self._forbidden_user
            elif user != "system:anonymous":
                return
        verb = _VERBS.get(method, method.lower())
        if resource is None:
            raise Problem(403, f'forbidden: User "{user}" cannot {verb} path "{path}"', {})
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        qualified = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
        details = {"group": resource.group, "kind": resource.plural} if resource.group else {"kind": resource.plural}
        raise Problem(
            403,
            f'{qualified} is forbidden: User "{user}" cannot {verb} resource "{resource.plural}"'
            f' in API group "{resource.group}" {scope}',
            details,
        )

    def _injected(self, path: str) -> None:
        with self._lock:
            for failure in self._failures:
                if failure.path not in (None, path) or failure.times == 0:
                    continue
                if failure.times is not None:
                    failure.times -= 1
                message = "Unauthorized" if failure.status == 401 else f"injected by the test stand-in ({path})"
                raise Problem(failure.status, message)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        api: KubernetesAPI,
        context: ssl.SSLContext,
    ) -> None:
        self.api = api
        self.context = context
        self._open: set[ssl.SSLSocket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, so that a client that stalls or
        # rejects the certificate holds up no other connection.
        request.settimeout(10)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._open_lock:
            self._open.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)  # type: ignore[arg-type]
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(connection)
            connection.close()

    def drop_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up or fails the handshake is what failure tests do on purpose."""


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as the API server: a client reuses its connection across pages.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, each answer would wait out the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _TLSServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.server.api._answer(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        body = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read `KubernetesAPI.requests` instead."""
