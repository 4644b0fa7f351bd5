"""moto's Step Functions hot path made cheap, found by profiling the local AWS (bench/profile.py).

moto's Step Functions interpreter parses every JSONPath of every state each
time it evaluates one, and jsonpath-ng builds a new parser (its yacc tables)
per parse: about a tenth of the local AWS's CPU per scenario step. Parsed paths
are immutable, so they are kept per path text. (DynamoDB's: cli/local/dynamodb_fast.py.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable

PARSED_PATHS = 4096  # distinct JSONPaths kept parsed (a definition has a few dozen)


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    saved = {module: module.parse for module in (json_path, result_path)}
    for module, parse in saved.items():
        module.parse = functools.lru_cache(maxsize=PARSED_PATHS)(parse)

    def undo() -> None:
        for module, parse in saved.items():
            module.parse = parse

    return undo
