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
- **The request, the answer.** Before moto's view reads a JSON call's body
  (`request.data`, whose first read makes werkzeug look for form data, wrap
  the stream and read it in chunks), the request is given the state that read
  leaves, from the body the server read up front. The answer's status line
  and headers are made as werkzeug's `Response` makes them (its default
  Content-Type, Content-Length set as `Headers.set` sets it), without the
  Response, its header objects and its WSGI iterator; anything else than a str
  or bytes body with str or int header values (a Location, a status without a
  body) goes through the Response.
- **moto's generic dispatch.** What every request looked up anew is kept: the
  app of a JSON call (moto parses the signature's scope and matches host
  patterns under a lock), per Host, scope region and service, and target; its
  URL; the method name of an action (`camelcase_to_underscores`, a function
  of its string); the operation's parser (model, protocol; a parser keeps
  nothing of a request); the environ key of a header name (`EnvironHeaders`
  made `X-Amz-Target` into `HTTP_X_AMZ_TARGET` on each of some 25 reads a
  request). A backend that exists is returned at once: `BackendDict[account]`
  took moto's lock and compared the dict with every other service's to do
  nothing, `AccountSpecificBackend[region]` listed the keys (some ten of
  these a request: IAM's partitions for the caller's account, the
  service's backend); a backend to make is made by moto's code.
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
import io
from collections.abc import Callable
from typing import Any

import flask
from botocore.exceptions import ClientError
from itest.cli.local.undo import in_reverse
from moto.core.responses import BaseResponse
from moto.core.utils import convert_to_flask_response
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.utilities.constants import JSON_TYPES
from werkzeug.exceptions import BadRequestKeyError, HTTPException
from werkzeug.utils import get_content_type

KNOWN_HOSTS = 1024  # host names whose backend is kept (one per service and region used)
KNOWN_ROOTS = 64  # request URLs kept (of JSON calls: one per host name a client uses)
KNOWN_ACTIONS = 4096  # action names whose method name is kept
KNOWN_HEADER_NAMES = 1024  # header names whose environ key is kept
KNOWN_STATUSES = 256  # status lines kept (one per status code moto answers with)


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host name, and answering
    JSON-protocol calls without Flask's machinery."""

    def __init__(self, create_app: Callable[[Any], Any]) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}
        self._json_views: dict[Any, _JsonView | None] = {}  # per app
        self._json_apps: dict[tuple[Any, ...], Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not _is_json_call(environ):
            return self.get_application(environ)(environ, start_response)
        app = self._json_app(environ)
        if app not in self._json_views:
            self._json_views[app] = _JsonView.of(app)
        view = self._json_views[app]
        if view is None:
            return app(environ, start_response)
        return view(environ, start_response)

    def _json_app(self, environ: dict[str, Any]) -> Any:
        """moto's app for a JSON call (`get_application`), kept per what moto picks it by for
        `POST /`: the Host, the region and service of the signature's scope, the target."""
        key = _json_app_key(environ)
        app = self._json_apps.get(key) if key else None
        if app is None:
            app = self.get_application(environ)
            if key and len(self._json_apps) < KNOWN_HOSTS:
                self._json_apps[key] = app
        return app

    def get_backend_for_host(self, host: str | None) -> Any:
        # called under moto's `self.lock` (get_application): no lock of our own needed
        if host in self._backends:
            return self._backends[host]
        backend = super().get_backend_for_host(host)
        if len(self._backends) < KNOWN_HOSTS:
            self._backends[host] = backend
        return backend


def _json_app_key(environ: dict[str, Any]) -> tuple[Any, ...] | None:
    """Host, region, service and target of a signed JSON call, read as moto's
    `infer_service_region_host` reads them; None for an unsigned one (moto reads its body)."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    if not authorization:
        return None
    try:
        _, _, region, service, _ = authorization.split(",")[0].split()[1].split("/")
    except (IndexError, ValueError):  # moto's own lookup says what it makes of it
        return None
    return environ.get("HTTP_HOST"), region, service, environ.get("HTTP_X_AMZ_TARGET")


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
        # the answer's status line and headers made as werkzeug's Response makes them
        self.plain = app.response_class is flask.Response
        self.urls: dict[tuple[Any, ...], str] = {}

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
                recorder._record_request(request)  # when recording, it reads the body first
                _read_ahead(request, environ)
                headers = None if self.moto_s_dispatch else dict(request.headers)
                result = self.view.callback(request, self._raw_url(request), headers)
            except ClientError as exc:
                result = 400, {}, exc.response["Error"]["Message"]
            status, headers, content = result if len(result) == 3 else (200, {}, result)
            plain = self.plain and _plain_answer(status, headers, content, self.cors)
            if plain:
                start_response(plain[0], plain[1])
                return [plain[2]]
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
        """moto's `request.raw_url` (werkzeug's `url_root`: scheme, host, root path; then
        the raw path and the query), kept per the parts of the environ it is made of."""
        if request.trusted_hosts is not None:  # werkzeug checks the host each time
            return request.raw_url
        environ = request.environ
        key = (
            request.scheme,
            environ.get("HTTP_HOST"),
            request.server,
            request.root_path,
            environ.get("RAW_URI"),
            environ.get("PATH_INFO"),
            environ.get("QUERY_STRING"),
        )
        url = self.urls.get(key)
        if url is None:
            url = f"{request.url_root.rstrip('/')}{request.raw_path}"
            if request.query_string:
                url = f"{url}?{request.query_string.decode()}"
            if len(self.urls) < KNOWN_ROOTS:
                self.urls[key] = url
        return url


_DEFAULT_TYPE = get_content_type(flask.Response.default_mimetype or "", "utf-8")
_REWRITTEN = {"location", "content-location"}  # headers werkzeug rewrites on the way out
_status_lines: dict[tuple[type, Any], tuple[str, int]] = {}


def _read_ahead(request: Any, environ: dict[str, Any]) -> None:
    """Leave a JSON call's request as moto's first read of its body (`request.data`,
    which parses form data first) would: the body read, no form, no files, the
    stream at its end; and its empty query string read (`request.args`). Only for a
    body the server read up front (a `BytesIO`) of the length the request says, of a
    JSON content type (werkzeug parses no form of it), outside an app context (so
    Flask's debug mode adds nothing)."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if not (
        type(stream) is io.BytesIO
        and environ.get("CONTENT_TYPE") in JSON_TYPES
        and type(length) is str
        and length.isascii()
        and length.isdigit()
        and "wsgi.input_terminated" not in environ
        and "HTTP_TRANSFER_ENCODING" not in environ
        and request.max_content_length is None
    ):
        return
    body = stream.getvalue()
    if stream.tell() != 0 or len(body) != int(length):
        return
    stream.seek(len(body))
    request._cached_data = body
    empty = request.parameter_storage_class
    request.__dict__.update(stream=stream, form=empty(), files=empty())
    if not environ.get("QUERY_STRING"):
        request.__dict__["args"] = empty()


def _plain_answer(
    status: Any, headers: Any, content: Any, cors: bool
) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The status line, headers and body that flask's `Response(content, status, headers)`
    gives the WSGI server (with flask-cors's header when `cors`), made directly, for what
    moto answers: a str or bytes body, a dict of str or int values. None for anything else
    (a status without a body, a Location, a newline in a value...): the Response answers."""
    line = _status_line(status)
    if line is None or type(headers) is not dict:
        return None
    if type(content) is str:
        body = content.encode()
    elif type(content) is bytes:
        body = content
    else:
        return None
    listed: list[tuple[str, str]] = []
    for key, value in headers.items():
        if type(value) is not str:
            if type(value) is not int:
                return None
            value = str(value)
        if type(key) is not str or "\n" in value or "\r" in value or key.lower() in _REWRITTEN:
            return None
        listed.append((key, value))
    if _find(listed, "content-type") is None:
        listed.append(("Content-Type", _DEFAULT_TYPE))
    _set(listed, "Content-Length", str(len(body)))
    if cors and not _find(listed, "access-control-allow-origin"):
        listed.append(("Access-Control-Allow-Origin", "*"))
    return line[0], listed, body


def _status_line(status: Any) -> tuple[str, int] | None:
    """werkzeug's status line for `status` (an int or str), or None when the answer is
    not a plain one: an error, or a status werkzeug answers without its body or length."""
    key = (type(status), status)
    line = _status_lines.get(key)
    if line is None:
        if type(status) not in (int, str):
            return None
        try:
            made = flask.Response(status=status)
        except Exception:  # the Response raises it again
            return None
        line = (made.status, made.status_code)
        if len(_status_lines) < KNOWN_STATUSES:
            _status_lines[key] = line
    code = line[1]
    return None if code < 200 or code in (204, 304) else line


def _find(headers: list[tuple[str, str]], lower_name: str) -> str | None:
    """The first value of a header, its name in any case (`Headers.get`)."""
    for key, value in headers:
        if key.lower() == lower_name:
            return value
    return None


def _set(headers: list[tuple[str, str]], name: str, value: str) -> None:
    """`Headers.set`: the first header of that name (any case) becomes this one, the
    others go; without one, it is added last."""
    lower = name.lower()
    for at, (key, _) in enumerate(headers):
        if key.lower() == lower:
            headers[at] = (name, value)
            headers[at + 1 :] = [h for h in headers[at + 1 :] if h[0].lower() != lower]
            return
    headers.append((name, value))


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
        _method_names_once(),
        _backends_found_without_lock(),
        _region_backends_found_at_once(),
        _parsers_once(),
        _header_keys_once(),
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


def _method_names_once() -> Callable[[], None]:
    """`camelcase_to_underscores` of the action in moto's `call_action`, kept per action
    (a function of its string)."""
    from moto.core import responses

    original = responses.camelcase_to_underscores
    responses.camelcase_to_underscores = functools.lru_cache(maxsize=KNOWN_ACTIONS)(original)
    return lambda: setattr(responses, "camelcase_to_underscores", original)


def _backends_found_without_lock() -> Callable[[], None]:
    """`BackendDict[account]` (every `dynamodb_backends[account][region]`) without moto's
    lock and its search of all services' dicts, when the account's backend exists:
    moto makes it (and lists its dict among those reset) only in the locked part, which
    then does nothing."""
    from moto.core.base_backend import BackendDict

    original = BackendDict.__getitem__

    def getitem(self: BackendDict, account_id: str) -> Any:
        found = dict.get(self, account_id)
        return original(self, account_id) if found is None else found

    BackendDict.__getitem__ = getitem
    return lambda: setattr(BackendDict, "__getitem__", original)


def _region_backends_found_at_once() -> Callable[[], None]:
    """`AccountSpecificBackend[region]` for a region that has its backend: moto's looks
    for "global" and lists the keys first (some ten a request: IAM's partitions for the
    caller's account, the service's backend)."""
    from moto.core.base_backend import AccountSpecificBackend

    original = AccountSpecificBackend.__getitem__

    def getitem(self: AccountSpecificBackend, region_name: str) -> Any:
        found = dict.get(self, region_name) if region_name != "global" else None
        return original(self, region_name) if found is None else found

    AccountSpecificBackend.__getitem__ = getitem
    return lambda: setattr(AccountSpecificBackend, "__getitem__", original)


def _parsers_once() -> Callable[[], None]:
    """moto's `parse_parameters` looks up the operation's model and protocol and makes a
    parser for each request; the parser (which keeps nothing of a request) is kept per
    service, action, content type and mapping type. What moto raises (an unknown action,
    an unsupported protocol) it raises each time."""
    from moto.core import responses

    original = responses.BaseResponse.parse_parameters
    parsers: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(original)
    def parse_parameters(self: BaseResponse, request: Any) -> None:
        action = self._get_action()
        key = (self.boto3_service_name, action, request.content_type, self.PROTOCOL_PARSER_MAP_TYPE)
        parser = parsers.get(key)
        if parser is None:
            service_model = responses.get_service_model(self.boto3_service_name)
            operation_model = service_model.operation_model(action)
            protocol = responses.determine_request_protocol(service_model, request.content_type)
            parser_cls = responses.PROTOCOL_PARSERS[protocol]
            parser = parser_cls(operation_model, map_type=self.PROTOCOL_PARSER_MAP_TYPE)
            if len(parsers) < KNOWN_ACTIONS:
                parsers[key] = parser
        parsed = parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.data,
                "url_path": request.path,
                "url_params": self.uri_match,
            }
        )
        self.params = parsed

    responses.BaseResponse.parse_parameters = parse_parameters
    return lambda: setattr(responses.BaseResponse, "parse_parameters", original)


def _header_keys_once() -> Callable[[], None]:
    """moto's request headers (werkzeug's `EnvironHeaders`) look a name up in the environ
    under a key made anew each time (`X-Amz-Target` -> `HTTP_X_AMZ_TARGET`): kept per name."""
    from moto.core.request import EnvironHeaders

    original = EnvironHeaders._get_key
    keys: dict[str, str] = {}

    def get_key(self: EnvironHeaders, key: str) -> str:
        if type(key) is not str:
            return original(self, key)  # raises
        environ_key = keys.get(key)
        if environ_key is None:  # as werkzeug makes it
            upper = key.upper().replace("-", "_")
            environ_key = upper if upper in _UNPREFIXED else f"HTTP_{upper}"
            if len(keys) < KNOWN_HEADER_NAMES:
                keys[key] = environ_key
        return self.environ[environ_key]

    EnvironHeaders._get_key = get_key
    return lambda: setattr(EnvironHeaders, "_get_key", original)


_UNPREFIXED = ("CONTENT_TYPE", "CONTENT_LENGTH")  # werkzeug's environ keys without HTTP_


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
