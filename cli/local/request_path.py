"""What every request to the local AWS pays before and after moto acts, made cheap.

Found by profiling the server (bench/profile.py) on a GetItem, the engine's most
common call: about 60% of the server's CPU per request was neither the
service's work nor its answer's serialization, but moto's plumbing around it.

- **Which service.** moto's dispatcher finds the backend of a request by host
  name, and for that lists moto's package folder (`os.listdir` and an
  `isdir` per service, about 60 per request) and matches the name against
  every service's URL patterns. The answer for a host name never changes while
  the process runs, so :class:`Dispatcher` keeps it (a quarter of a GetItem's
  server CPU).
- **Which action.** moto checks that the action is a method of the service's
  response class with `inspect.getmembers` on the class, per request; the
  methods are kept per class while the patch is installed.
- **Flask.** moto serves each service with a Flask app; for a JSON-protocol
  call (`POST /` naming its action in `X-Amz-Target`: DynamoDB, Step
  Functions...) Flask's request context, routing, signals and after-request
  hooks cost a sixth of a GetItem. :class:`Dispatcher` calls the app's one
  view for `POST /` itself, as Flask would: the same request object, moto's
  own view function, the same response, the CORS header flask-cors adds to a
  request without `Origin`, HTTP errors answered as Flask answers them, any
  other exception left to the server (500). Anything else (other paths or
  methods, an `Origin`, an app with other hooks) goes through Flask.
  Two things Flask's path did per request are done once: the URL's root
  (werkzeug rebuilds `http://host:port/` from the environ each time) is kept
  per scheme, host and root path, and the copy of all headers moto's view
  makes for its `dispatch` is skipped when `dispatch` is moto's own
  (`setup_class` reads that copy only to fill an empty query string, and the
  request's own headers give the same keys and values).
- **The request's parameters.** moto's parser walks the botocore model per
  request; cli/local/json_requests.py compiles that walk once per operation
  (a third of a PutItem's parsing cost).
- **The request id.** moto draws each 52-character request id one character at
  a time through `random.choice`; it draws them all in one `random.choices`
  (the same characters, from the same generator that moto's seed sets). It
  then writes the id into every answer's `<RequestId>` element with a regular
  expression that tries each character of the body (a quarter of a
  millisecond for a 10 KB DynamoDB answer, which has no such element): a
  body without `<RequestId>` is left as it is without the search.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from itest.cli.local.undo import in_reverse
from moto.core.responses import BaseResponse
from moto.core.utils import convert_to_flask_response
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from werkzeug.exceptions import BadRequestKeyError, HTTPException

KNOWN_HOSTS = 1024  # host names whose backend is kept (one per service and region used)
KNOWN_ROOTS = 64  # URL roots kept (one per host name a client uses)


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host name, and answering
    JSON-protocol calls without Flask's machinery."""

    def __init__(self, create_app: Callable[[Any], Any]) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}
        self._json_views: dict[Any, _JsonView | None] = {}  # per app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        app = self.get_application(environ)
        if not _is_json_call(environ):
            return app(environ, start_response)
        if app not in self._json_views:
            self._json_views[app] = _JsonView.of(app)
        view = self._json_views[app]
        if view is None:
            return app(environ, start_response)
        return view(environ, start_response)

    def get_backend_for_host(self, host: str | None) -> Any:
        # called under moto's `self.lock` (get_application): no lock of our own needed
        if host in self._backends:
            return self._backends[host]
        backend = super().get_backend_for_host(host)
        if len(self._backends) < KNOWN_HOSTS:
            self._backends[host] = backend
        return backend


def _is_json_call(environ: dict[str, Any]) -> bool:
    """A JSON-protocol call that no CORS rule answers differently (no `Origin`)."""
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("PATH_INFO") == "/"
        and "HTTP_X_AMZ_TARGET" in environ
        and "HTTP_ORIGIN" not in environ
        and "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK" not in environ
    )


class _JsonView:
    """The view of one moto Flask app for `POST /`, called as Flask would call it."""

    def __init__(self, app: Any, view: Any, cors: bool) -> None:
        self.app = app
        self.view = view
        self.cors = cors
        self.moto_s_dispatch = _is_moto_s_dispatch(view.callback)
        self.url_roots: dict[tuple[Any, ...], str] = {}

    @classmethod
    def of(cls, app: Any) -> _JsonView | None:
        """The app's view for `POST /`, or None when Flask must answer: a route with
        arguments, a view that is not moto's, or hooks other than flask-cors's."""
        hooks = [app.before_request_funcs, app.url_value_preprocessors, app.teardown_request_funcs]
        if any(any(funcs.values()) for funcs in hooks):
            return None
        after = [f for funcs in app.after_request_funcs.values() for f in funcs]
        if [f.__name__ for f in after] not in ([], ["cors_after_request"]):
            return None
        try:
            endpoint, arguments = app.url_map.bind("localhost").match("/", method="POST")
        except HTTPException:
            return None
        view = app.view_functions.get(endpoint)
        if arguments or not isinstance(view, convert_to_flask_response):
            return None
        return cls(app, view, cors=bool(after))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = self.app.request_class(environ)
        try:
            try:  # as moto's convert_to_flask_response, with the request at hand
                recorder._record_request(request)
                headers = None if self.moto_s_dispatch else dict(request.headers)
                result = self.view.callback(request, self._raw_url(request), headers)
            except ClientError as exc:
                result = 400, {}, exc.response["Error"]["Message"]
            status, headers, content = result if len(result) == 3 else (200, {}, result)
            response = self.app.response_class(response=content, status=status, headers=headers)
        except BadRequestKeyError:
            raise  # Flask in debug mode lets it through: the server answers 500
        except HTTPException as exc:  # Flask answers with the error itself
            response = self.app.response_class.force_type(exc, environ)
        finally:
            request.close()
        if self.cors and not response.headers.get("Access-Control-Allow-Origin"):
            response.headers.add("Access-Control-Allow-Origin", "*")  # flask-cors, no Origin
        return response(environ, start_response)

    def _raw_url(self, request: Any) -> str:
        """moto's `request.raw_url`, its root (werkzeug's `url_root`: scheme, host, root
        path) kept per the parts of the environ it is made of."""
        if request.trusted_hosts is not None:  # werkzeug checks the host each time
            return request.raw_url
        key = (request.scheme, request.environ.get("HTTP_HOST"), request.server, request.root_path)
        root = self.url_roots.get(key)
        if root is None:
            root = request.url_root
            if len(self.url_roots) < KNOWN_ROOTS:
                self.url_roots[key] = root
        url = f"{root.rstrip('/')}{request.raw_path}"
        return f"{url}?{request.query_string.decode()}" if request.query_string else url


def _is_moto_s_dispatch(callback: Any) -> bool:
    """Whether a view calls `BaseResponse.dispatch` of a class that keeps moto's
    `_dispatch` and `setup_class`: then the headers it is given are read only as
    `request.headers` would be (and None stands for those)."""
    owner = getattr(callback, "__self__", None)
    return (
        isinstance(owner, type)
        and issubclass(owner, BaseResponse)
        and getattr(callback, "__func__", None) is BaseResponse.dispatch.__func__
        and owner._dispatch is BaseResponse._dispatch
        and owner.setup_class is BaseResponse.setup_class
    )


def install() -> Callable[[], None]:
    """Patch moto's per-request work; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from itest.cli.local import json_requests

    undoes = [
        _action_names_once(),
        _request_ids_at_once(),
        _request_ids_where_they_go(),
        json_requests.install(),
    ]
    return in_reverse(undoes)


def _action_names_once() -> Callable[[], None]:
    """`method_names_from_class` in moto's dispatch, kept per response class."""
    from moto.core import responses

    original = responses.method_names_from_class
    responses.method_names_from_class = functools.cache(original)
    return lambda: setattr(responses, "method_names_from_class", original)


def _request_ids_at_once() -> Callable[[], None]:
    """`MotoRandom.get_random_string` (request ids, and ids moto makes up) in one draw."""
    import string

    from moto.moto_api._internal.moto_random import MotoRandom

    original = MotoRandom.get_random_string

    def get_random_string(
        self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        drawn = "".join(self.choices(pool, k=length))
        return drawn.lower() if lower_case else drawn

    MotoRandom.get_random_string = get_random_string
    return lambda: setattr(MotoRandom, "get_random_string", original)


def _request_ids_where_they_go() -> Callable[[], None]:
    """`BaseResponse._enrich_response` searches a body only when it has a `<RequestId>`."""
    from moto.core.responses import BaseResponse

    saved = BaseResponse.__dict__["_enrich_response"]
    original = saved.__func__

    @functools.wraps(original)
    def enrich(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and "<RequestId>" not in body:
            headers, _ = original(headers, "")  # the headers as moto sets them
            return headers, body  # what moto's substitution leaves of it
        return original(headers, body)

    BaseResponse._enrich_response = staticmethod(enrich)
    return lambda: setattr(BaseResponse, "_enrich_response", saved)
