"""moto's Lambda functions run on the local worker pool, from registered code only.

moto runs Lambda code only in Docker. `install()` replaces
`moto.awslambda.models.LambdaFunction._invoke_lambda` in the server's process
with `LambdaRunner.invoke`: the function's code zip is extracted once per code
sha256 and its handler runs in a warm child of the worker pool
(cli/local/worker_pool.py) with `AWS_ENDPOINT_URL` pointing at the local server;
its log lines go to the function's log group, one stream per child, as on Lambda.

Only code the owner registered runs (cli/local/code_registry.py): the assets
the orchestrator's deploy published and what local targets register. Any other
function, created through the API with whatever code, is refused when invoked
(`AccessDeniedException`), before any process starts. A function a stack
deploys gets its first child at once, so the handler's import runs beside the
rest of the deploy.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itest.cli.local.cache import cache_root
from itest.cli.local.worker_pool import FunctionSpec, WorkerPool

if TYPE_CHECKING:
    from collections.abc import Callable

    from itest.cli.local.code_registry import CodeRegistry
    from itest.cli.local.pipe_server import Answer
    from moto.awslambda.models import LambdaFunction

LOG_TAIL_BYTES = 4096  # what Invoke returns with LogType=Tail
CONFIGURATIONS_KEPT = 256  # function configurations whose spec is kept (forgotten all at once)


@dataclass(frozen=True)
class _Configured:
    """What a function configuration runs as: its environment variables (compared on
    every invocation: moto may give a function new ones), its spec, and the digest of
    its code and of each layer (checked against the registry on every invocation)."""

    variables: dict[str, Any]
    spec: FunctionSpec
    digests: tuple[tuple[str, str], ...]


class LambdaRunner:
    """Invoke moto Lambda functions on a worker pool; thread-safe."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials: dict[str, str],
        registry: CodeRegistry,
        *,
        max_workers: int | None = None,
        idle_seconds: float | None = None,
        answer_aws: Answer | None = None,
    ) -> None:
        """`answer_aws`: see WorkerPool.

        Raises: StartError for a bad ITEST_LAMBDA_* setting (see WorkerPool)."""
        self.registry = registry
        self.code_cache = cache_root() / "lambda-code"
        self._logs_lock = threading.Lock()
        environment = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": endpoint_url,
            **credentials,
        }
        self.pool = WorkerPool(
            environment, max_workers=max_workers, idle_seconds=idle_seconds, answer_aws=answer_aws
        )
        self._configured: dict[tuple[Any, ...], _Configured] = {}
        self._configured_lock = threading.Lock()

    def invoke(self, fn: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """moto's `_invoke_lambda` contract: (response payload, errored, log tail).

        Raises:
            CodeNotRegistered: the function's code (or a layer's) is not registered.
        """
        if not str(fn.run_time).startswith("python"):
            message = f"{fn.function_name} is {fn.run_time}; locally only Python functions run"
            return (
                json.dumps({"errorType": "Runtime.InvalidRuntime", "errorMessage": message}),
                True,
                "",
            )
        spec = self._checked_spec(fn)
        result = self.pool.invoke(spec, event)
        if result.log_stream is not None:
            with self._logs_lock:  # moto's logs backend is not thread-safe
                _save_logs(fn, spec.log_group, result.log_stream, result.logs)
        tail = "\n".join(result.logs).encode()[-LOG_TAIL_BYTES:].decode(errors="ignore")
        return result.payload, result.errored, tail

    def prewarm(self, fn: LambdaFunction) -> None:
        """Start a worker for a function with registered code, ahead of its first call."""
        if not str(fn.run_time).startswith("python"):
            return
        try:
            spec = self._checked_spec(fn)
        except Exception:  # the first invocation reports what is wrong
            return
        self.pool.prewarm(spec)

    def close(self) -> None:
        self.pool.close()

    def _checked_spec(self, fn: LambdaFunction) -> FunctionSpec:
        """The spec to run `fn` by, once its code and layers are known to be registered.

        Kept per configuration (`_Configured`): a warm invocation neither looks its
        layers up again nor builds a spec the pool must hash and compare in full; its
        code folder is only checked to be there (cli/local/worker_pool.py runs in it).

        Raises:
            CodeNotRegistered: the function's code (or a layer's) is not registered.
        """
        configuration = _configuration(fn)
        with self._configured_lock:
            known = self._configured.get(configuration)
        if known is None or known.variables != fn.environment_vars:
            known = self._configure(fn, configuration)
        missing = [what for what, digest in known.digests if not self.registry.knows(digest)]
        if missing:
            raise _code_not_registered(fn.function_name, missing)
        if not os.path.isdir(known.spec.code_dir) or not all(
            os.path.isdir(folder) for folder in known.spec.layer_dirs
        ):  # removed from the cache under a running local AWS: extracted again
            known = self._configure(fn, configuration)
        return known.spec

    def _configure(self, fn: LambdaFunction, configuration: tuple[Any, ...]) -> _Configured:
        layers = _layers(fn)
        digests = (("code", fn.code_digest),
                   *((f"layer {layer.arn}", layer.code_digest) for layer in layers))  # fmt: skip
        if missing := [what for what, digest in digests if not self.registry.knows(digest)]:
            raise _code_not_registered(fn.function_name, missing)
        if getattr(fn, "package_type", "Zip") != "Zip":
            raise NotImplementedError(f"{fn.function_name}: only Zip packages run locally")
        variables = dict(fn.environment_vars)
        spec = FunctionSpec(
            arn=fn.function_arn,
            name=fn.function_name,
            version=str(fn.version),
            handler=str(fn.handler),
            code_dir=self._extract(fn),
            layer_dirs=tuple(self._extract(layer) for layer in layers),
            environment=tuple(sorted((str(k), str(v)) for k, v in variables.items())),
            timeout=float(fn.timeout),
            memory=int(fn.memory_size),
            log_group=fn.logs_group_name,
        )
        known = _Configured(variables, spec, digests)
        with self._configured_lock:
            if len(self._configured) >= CONFIGURATIONS_KEPT:
                self._configured.clear()
            self._configured[configuration] = known
        return known

    def _extract(self, package: Any) -> Path:
        """Unzip a function's or layer's code once per sha256, atomically, into the cache."""
        if not package.code_digest:
            raise RuntimeError(f"no code to run in {package}")
        target = self.code_cache / package.code_digest  # moto's hex sha256 of code_bytes
        if target.is_dir():
            return target
        self.code_cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".unzip-", dir=self.code_cache))
        try:
            with zipfile.ZipFile(io.BytesIO(package.code_bytes)) as archive:
                archive.extractall(tmp)
            try:
                tmp.rename(target)
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target


def inline_code_zip(source: str) -> bytes:
    """The zip moto's CloudFormation makes of a function's inline `Code.ZipFile` source
    (index.py, and cfnresponse.py as AWS provides), but with fixed timestamps: the same
    source gives the same bytes, so the deploy can register them beforehand."""
    from moto.utilities.utils import load_resource_as_str

    files = {
        "index.py": source,
        "cfnresponse.py": load_resource_as_str("awslambda/resources/cfnresponse.py.txt"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, text, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _code_not_registered(name: str, missing: list[str]) -> Exception:
    """The Invoke error for unregistered code: 403 AccessDeniedException, as moto's server
    answers any of its errors, naming the function and how to register its code."""
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(
        "AccessDeniedException",
        f"itest local AWS: function {name} runs code that was not registered "
        f"({', '.join(missing)}): the local AWS runs only the code of the deployed "
        "orchestrator and code a local target registered, "
        'Code={"ZipFile": aws.register_code(zip_bytes)} in its itest_local.py',
    )
    error.code = 403
    return error


def _configuration(fn: LambdaFunction) -> tuple[Any, ...]:
    """What a function's spec is made of but its environment variables (a dict)."""
    return (
        fn.function_arn,
        fn.function_name,
        fn.version,
        fn.handler,
        fn.code_digest,
        tuple(layer["Arn"] for layer in fn.layers),
        fn.timeout,
        fn.memory_size,
        fn.logs_group_name,
        getattr(fn, "package_type", "Zip"),
    )


def _layers(fn: LambdaFunction) -> list[Any]:
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[fn.account_id][fn.region]
    return [backend.layers_versions_by_arn(layer["Arn"]) for layer in fn.layers]


def _save_logs(fn: LambdaFunction, group: str, stream: str, lines: list[str]) -> None:
    """What moto's `save_logs` does, but one stream per warm child, as on Lambda.

    The lines go to the stream itself: moto's `put_log_events` only drops events
    from more than 14 days ago or 2 hours ahead and refuses them out of order, and
    these are all stamped now."""
    logs = fn.logs_backend
    logs.ensure_log_group(group)
    log_group = logs.groups[group]
    if stream not in log_group.streams:
        logs.create_log_stream(group, stream)
    now = int(time.time() * 1000)
    log_group.streams[stream].put_log_events(
        [{"timestamp": now, "message": line} for line in lines]
    )


def install(runner: LambdaRunner) -> Callable[[], None]:
    """Make moto run Lambda code through `runner`; return the function that undoes it.

    Also teaches moto the function's `LoggingConfig.LogGroup` (moto ignores it)
    so logs land where they would on AWS (and GetFunctionConfiguration says
    so), whether the function comes from the
    API or from CloudFormation, the `Layers` moto's CloudFormation drops,
    the `Unhandled` function error Python's runtime reports (moto says `Handled`),
    and one zip per inline source (`inline_code_zip`), so that it can be registered.
    """
    from moto.awslambda.models import LambdaFunction

    originals = {
        name: LambdaFunction.__dict__[name]
        for name in (
            "_invoke_lambda",
            "invoke",
            "__init__",
            "update_configuration",
            "create_from_cloudformation_json",
            "get_configuration",
            "_create_zipfile_from_plaintext_code",
        )
    }
    invoke = originals["invoke"]
    init = originals["__init__"]
    update = originals["update_configuration"]
    from_cfn = originals["create_from_cloudformation_json"].__func__
    get_configuration = originals["get_configuration"]

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        # moto turns an empty request body into the *string* "{}"; Lambda passes {}
        return runner.invoke(self, {} if event in (None, "{}") else event)

    def invoke_(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any):
        payload = invoke(self, body, request_headers, response_headers)
        if "x-amz-function-error" in response_headers:  # moto says "Handled"
            response_headers["x-amz-function-error"] = "Unhandled"  # as Python's runtime does
        return payload

    def __init__(self: LambdaFunction, account_id: str, spec: dict[str, Any], *a: Any, **kw: Any):
        init(self, account_id, spec, *a, **kw)
        _apply_logging_config(self, spec)

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
        _apply_logging_config(self, config_updates)
        if layers := config_updates.get("Layers"):  # a stack update: Refs are objects
            config_updates = {**config_updates, "Layers": [getattr(x, "arn", x) for x in layers]}
        return update(self, config_updates)

    def create_from_cloudformation_json(
        cls: type, resource_name: str, cfn: dict, *a: Any, **kw: Any
    ):
        fn = from_cfn(cls, resource_name, cfn, *a, **kw)
        properties = cfn.get("Properties", {})
        _apply_logging_config(fn, properties)
        if layers := properties.get("Layers"):  # moto's CloudFormation drops them...
            # ...and resolves a Ref to a LayerVersion to the object, not its ARN
            fn.layers = fn._get_layers_data([getattr(x, "arn", x) for x in layers])
        threading.Thread(target=runner.prewarm, args=(fn,), daemon=True).start()
        return fn

    def get_configuration_(self: LambdaFunction, *a: Any, **kw: Any) -> dict[str, Any]:
        # as GetFunctionConfiguration answers on AWS: where the function logs
        config = get_configuration(self, *a, **kw)
        config.setdefault("LoggingConfig", {"LogFormat": "Text", "LogGroup": self.logs_group_name})
        return config

    LambdaFunction._invoke_lambda = _invoke_lambda
    LambdaFunction.invoke = invoke_
    LambdaFunction.__init__ = __init__
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    LambdaFunction.get_configuration = get_configuration_
    LambdaFunction._create_zipfile_from_plaintext_code = staticmethod(inline_code_zip)

    def uninstall() -> None:
        for name, original in originals.items():
            setattr(LambdaFunction, name, original)

    return uninstall


def _apply_logging_config(fn: LambdaFunction, properties: dict[str, Any]) -> None:
    group = (properties.get("LoggingConfig") or {}).get("LogGroup")
    if group:
        fn.logs_group_name = group
