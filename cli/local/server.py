"""The embedded local AWS: moto's server on loopback, executing Step Functions.

Everything heavy (moto, boto3) is imported when a server starts, not when the
CLI imports this module.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient

from itest.cli.local.errors import StartError

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STOP_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class LocalAws:
    """Where the local AWS listens, and how to talk to it: the one place every local
    client (CLI, tests, local targets, Lambda workers) gets its credentials from.

    ``credentials`` are the random ones of the user who started it (cli/local/front_door.py
    refuses any other); they come from the server, or from the state file of the
    background local AWS.
    """

    endpoint_url: str
    credentials: dict[str, str] = field(compare=False, repr=False)
    region: str = REGION
    account_id: str = ACCOUNT_ID

    def env(self) -> dict[str, str]:
        """Environment variables that point any AWS SDK or CLI at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **self.credentials,
        }

    def register_code(self, code: bytes) -> bytes:
        """Let this local AWS run `code`, a Lambda function's (or layer's) zip; returns it,
        for `Code={"ZipFile": aws.register_code(zip_bytes)}` (cli/local/code_registry.py)."""
        from itest.cli.local.code_registry import CodeRegistry

        CodeRegistry.of(self.credentials).register(code)
        return code

    def client(self, service: str, **kwargs: Any) -> BaseClient:
        """A client of this server; one per service is kept (clients are thread-safe
        and making one costs tens of milliseconds), a new one when `kwargs` configure it."""
        with _clients_lock:  # creating clients from one session is not thread-safe
            if kwargs:
                return self._session.client(service, endpoint_url=self.endpoint_url, **kwargs)
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.endpoint_url
                )
            return self._clients[service]

    @functools.cached_property
    def _clients(self) -> dict[str, BaseClient]:
        return {}

    @functools.cached_property
    def _session(self) -> Any:
        """A boto3 session of its own: the developer's AWS profile and files play no part."""
        import boto3
        import botocore.session

        isolated = {
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
        return boto3.Session(
            botocore_session=botocore.session.Session(session_vars=isolated),
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.credentials["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )


_clients_lock = threading.Lock()


@contextmanager
def local_aws(port: int = 0) -> Iterator[LocalAws]:
    """Run the local AWS for the duration of the block; port 0 picks a free one.

    One per process: moto's backends, its config and the `MOTO_PORT` its Step
    Functions interpreter dials are process-wide. Everything is undone on exit,
    errors included: Lambda children killed, moto patched back, server stopped.

    Raises:
        StartError: a local AWS already runs in this process, or the port is taken.
    """
    from itest.cli.local import moto_patches
    from itest.cli.local.code_registry import CodeRegistry
    from itest.cli.local.front_door import new_credentials
    from itest.cli.local.lambda_runner import LambdaRunner
    from itest.cli.local.pipe_server import PipeAnswers
    from moto.core.config import default_user_config

    global _running
    if _running:
        raise StartError("a local AWS is already running in this process")
    credentials = new_credentials()
    server = _closed_server(credentials, port)
    try:
        server.start()
    except OSError as e:
        raise StartError(f"the local AWS cannot listen on 127.0.0.1:{port}: {e}") from e
    with ExitStack() as undo:
        _running = True
        undo.callback(_set_running, False)
        undo.callback(server.stop)
        saved_config = copy.deepcopy(default_user_config)
        undo.callback(lambda: default_user_config.update(saved_config))
        # one line per request, and a repr of the whole state machine per failed
        # state: the execution history says it better, stderr is the CLI's
        undo.enter_context(_log_level("werkzeug", logging.WARNING))
        undo.enter_context(_log_level("moto.stepfunctions", logging.CRITICAL))
        _, bound = server.get_host_and_port()
        _check_localhost(bound)
        # moto's Step Functions interpreter calls Lambda & co. at
        # http://localhost:{MOTO_PORT} (moto.settings.moto_server_port reads it per call)
        undo.enter_context(_environ("MOTO_PORT", str(bound)))
        aws = LocalAws(endpoint_url=f"http://127.0.0.1:{bound}", credentials=credentials)
        registry = CodeRegistry.of(credentials)
        undo.callback(registry.remove)
        # the workers' calls come over their own pipes, into the HTTP server's app
        answer_aws = PipeAnswers(server._server)
        runner = LambdaRunner(
            aws.endpoint_url, aws.region, aws.credentials, registry, answer_aws=answer_aws
        )
        undo.callback(runner.close)
        undo.callback(moto_patches.install(credentials, aws.account_id, runner))
        _moto_api(aws, "reset")  # backends are process-wide: start empty
        _moto_api(aws, "config", {"stepfunctions": {"execute_state_machine": True}})
        yield aws


_running = False


def _closed_server(credentials: dict[str, str], port: int) -> Any:
    """moto's threaded server with the front door (cli/local/front_door.py) before it."""
    from itest.cli.local.front_door import FrontDoor
    from itest.cli.local.request_path import Dispatcher
    from moto.server import ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    class Closed(ThreadedMotoServer):
        front_door: FrontDoor | None = None

        def _server_entry(self) -> None:  # as moto's, with the app wrapped, kept alive, and
            # its service lookup remembered (cli/local/request_path.py)
            from itest.cli.local.keep_alive import KeepAliveHandler

            app = Dispatcher(create_backend_app)
            self.front_door = FrontDoor(app, credentials, hosts=set())
            self._server = make_server(
                self._ip_address,
                self._port,
                self.front_door,
                True,
                request_handler=KeepAliveHandler,
            )
            bound = self._server.server_address[1]
            self.front_door.hosts = {f"127.0.0.1:{bound}", f"localhost:{bound}"}
            self._server_ready_event.set()
            # stop() waits until the loop looks at its flag: every 0.5 s by default
            self._server.serve_forever(poll_interval=STOP_POLL_SECONDS)

    return Closed(ip_address="127.0.0.1", port=port, verbose=False)


def _set_running(value: bool) -> None:
    global _running
    _running = value


@contextmanager
def _log_level(name: str, level: int) -> Iterator[None]:
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)


@contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def _check_localhost(port: int) -> None:
    """moto's Step Functions interpreter dials `localhost`; it must reach 127.0.0.1.

    (If `localhost` lists ::1 first, the client falls back to 127.0.0.1 at once.)

    Raises:
        StartError: `localhost` does not resolve to 127.0.0.1 on this machine.
    """
    import socket

    addresses = {
        info[4][0] for info in socket.getaddrinfo("localhost", port, proto=socket.IPPROTO_TCP)
    }
    if "127.0.0.1" not in addresses:
        raise StartError(
            f"'localhost' resolves to {sorted(addresses)}, not 127.0.0.1: state machine tasks "
            "could not reach the local AWS (check /etc/hosts)"
        )


def _moto_api(aws: LocalAws, path: str, body: dict[str, Any] | None = None) -> None:
    import urllib.request

    key_id = aws.credentials["AWS_ACCESS_KEY_ID"]
    request = urllib.request.Request(
        f"{aws.endpoint_url}/moto-api/{path}",
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={  # the front door's check, as a signed request would carry it
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/moto-api",
            "X-Amz-Security-Token": aws.credentials["AWS_SESSION_TOKEN"],
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
