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
- **The request id.** moto draws each 52-character request id one character at
  a time through `random.choice`; it draws them all in one `random.choices`
  (the same characters, from the same generator that moto's seed sets).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

KNOWN_HOSTS = 1024  # host names whose backend is kept (one per service and region used)


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host name."""

    def __init__(self, create_app: Callable[[Any], Any]) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # called under moto's `self.lock` (get_application): no lock of our own needed
        if host in self._backends:
            return self._backends[host]
        backend = super().get_backend_for_host(host)
        if len(self._backends) < KNOWN_HOSTS:
            self._backends[host] = backend
        return backend


def install() -> Callable[[], None]:
    """Patch moto's per-request work; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    undoes = [_action_names_once(), _request_ids_at_once()]

    def undo() -> None:
        for undo_one in reversed(undoes):
            undo_one()

    return undo


def _action_names_once() -> Callable[[], None]:
    """`method_names_from_class` in moto's dispatch, kept per response class."""
    from moto.core import responses

    original = responses.method_names_from_class
    known: dict[type, list[str]] = {}
    lock = threading.Lock()

    def method_names_from_class(cls: type) -> list[str]:
        names = known.get(cls)
        if names is None:
            names = original(cls)
            with lock:
                known[cls] = names
        return names

    responses.method_names_from_class = method_names_from_class
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
