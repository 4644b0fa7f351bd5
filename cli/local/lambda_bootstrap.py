"""A stand-in for the Lambda Python runtime, run as a child process by lambda_runner.

Only the standard library is imported before the handler's module (boto3 after
it, see `_warm_sdk`), so the handler's own imports resolve as they would in
Lambda, but for one deliberate difference: layers are searched after
site-packages (see `_append_layers`). Protocol: one JSON event per line on
stdin; everything the handler writes to stdout/stderr is its log; control
messages go to stdout as `<marker> <json>` lines, where the marker (argv[1]) is
random per process so that no handler output can forge one. The handler's AWS
calls to the local AWS go over a pipe of their own (cli/local/pipe_client.py),
and the orchestrator's own results-table calls without botocore's per-call work
(cli/local/lean_calls.py). The error payloads and log lines copy the AWS Python
runtime (awslambdaric).
"""

from __future__ import annotations

import decimal
import importlib
import importlib.util
import json
import logging
import os
import sys
import time
import traceback
from typing import Any


class _Context:
    """The `context` argument of a Lambda handler."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = env["_ITEST_FUNCTION_ARN"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _Encoder(json.JSONEncoder):
    """Lambda's marshaller also accepts Decimal, which boto3's DynamoDB returns."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


class _Fault(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.trace = trace or []


def _error(error_type: str, message: str, trace: list[str], request_id: str = "") -> dict:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def _load_handler(spec: str) -> Any:
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise _Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}"
        ) from e
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise _Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}", trace
        ) from e
    try:
        return getattr(module, attr)
    except AttributeError:
        raise _Fault(
            "Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_name}'"
        ) from None


def _fault_from(exc: BaseException, request_id: str = "") -> dict:
    if isinstance(exc, _Fault):
        error = _error(exc.error_type, str(exc), exc.trace, request_id)
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        frames = [f for f in frames if f.filename != __file__]
        error = _error(type(exc).__name__, str(exc), traceback.format_list(frames), request_id)
    trace = "".join(error["stackTrace"])
    print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
    if trace:
        print(f"Traceback (most recent call last):\n{trace}", end="", file=sys.stderr)
    return error


def _append_layers() -> None:
    """Layers go after site-packages: locally this interpreter's packages play the
    runtime, and a layer's wheels are built for Lambda's Python, not this one."""
    layers = os.environ.pop("_ITEST_LAYER_PATH", "")
    sys.path.extend(p for p in layers.split(os.pathsep) if p and p not in sys.path)


def _warm_sdk() -> None:
    """Load now, in the init phase, what the handler's first boto3 client would load
    during its first invocation: boto3's modules, its default session's data (the
    endpoint rules, the list of services) and client machinery, by building a client
    of a small service. A prewarmed worker then answers its first invocation about
    as fast as the next ones. The handler sees nothing of it but boto3 already
    imported and its default session made (which its first `boto3.client` would
    make); a function without boto3 skips it."""
    try:
        import boto3
    except ImportError:
        return
    try:
        boto3.client("sts")
    except Exception:  # the handler's own first client reports what is wrong
        return


def _pipe_to_local_aws() -> Any:
    """Send the handler's AWS calls to the local AWS over this process's own pipe, when
    the worker pool gave it one (cli/local/pipe_client.py); the pipe, or None."""
    return _local_module("pipe_client").install_from_environ()


def _lean_engine_calls(pipe: Any) -> None:
    """The engine's own calls over `pipe` without botocore's per-call work, from the
    clients of boto3's default session (cli/local/lean_calls.py), when there is a
    pipe and the handler has boto3."""
    boto3 = sys.modules.get("boto3")
    if pipe is None or boto3 is None or boto3.DEFAULT_SESSION is None:
        return
    _local_module("lean_calls").install(pipe, boto3.DEFAULT_SESSION)


def _local_module(name: str) -> Any:
    """A module of cli/local/ for the worker, loaded by its path: the handler's code
    may have an `itest` package of its own."""
    spec = importlib.util.spec_from_file_location(
        f"_itest_{name}", os.path.join(os.path.dirname(__file__), f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    marker = sys.argv[1]
    _append_layers()
    pipe = _pipe_to_local_aws()
    events = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the handler must not eat our events

    def send(message: dict) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, f"{marker} {json.dumps(message, separators=(',', ':'))}\n".encode())

    request_filter = _RequestIdFilter()
    log_handler = logging.StreamHandler(sys.stdout)
    log_handler.addFilter(request_filter)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    log_handler.setFormatter(formatter)
    logging.getLogger().addHandler(log_handler)

    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except Exception as exc:
        send({"kind": "init_error", "payload": _fault_from(exc)})
        return
    _warm_sdk()
    _lean_engine_calls(pipe)
    send({"kind": "ready"})

    for line in events:
        request = json.loads(line)
        request_id = request_filter.request_id = request["request_id"]
        try:
            result = handler(request["event"], _Context(request_id, request["deadline_ms"]))
            try:
                payload = json.dumps(result, cls=_Encoder)
            except (TypeError, ValueError) as e:
                raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {e}") from e
            send({"kind": "result", "payload": payload})
        except Exception as exc:
            send({"kind": "error", "payload": json.dumps(_fault_from(exc, request_id))})
        request_filter.request_id = ""


if __name__ == "__main__":
    main()
