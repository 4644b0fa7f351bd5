"""Importing one of moto's modules without running its package's `__init__`.

Some of moto's packages import their whole service when imported (`moto.batch`
imports EC2's models, which load megabytes of instance data; `moto.cloudformation`
imports the models of every service it knows), while what the local AWS needs
of them is one light module: the Step Functions interpreter needs
`moto.batch.utils` (its job statuses), moto's models raise an exception of
`moto.cloudformation.exceptions`. The package itself is imported as usual when
something really uses it, and then finds that module already loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def import_without_package(name: str) -> ModuleType:
    """Import module `name` (e.g. `moto.batch.utils`) with its package's `__init__` not run
    (unless the package is imported already)."""
    package = name.rpartition(".")[0]
    with _lock:
        if name in sys.modules or package in sys.modules:
            return importlib.import_module(name)
        spec = importlib.util.find_spec(package)
        if spec is None:
            raise ModuleNotFoundError(f"no package {package}", name=package)
        sys.modules[package] = importlib.util.module_from_spec(spec)  # its __init__ not run
        try:
            return importlib.import_module(name)
        finally:
            del sys.modules[package]  # a real import of the package runs its __init__
