"""moto's Step Functions hot path made cheap, found by profiling the local AWS (bench/profile.py).

- moto's Step Functions interpreter parses every JSONPath of every state each
  time it evaluates one, and jsonpath-ng builds a new parser (its yacc tables)
  per parse: about a tenth of the local AWS's CPU per scenario step. Parsed
  paths are immutable, so they are kept per path text.
- Every execution parses its state machine's whole definition with ANTLR's
  Python runtime before its first state: with 50 runs at once, a sixth of the
  server's CPU. The parse tree is kept per definition text (the parser's
  output, which nothing changes); each execution still builds its own program
  from it (moto's `Preprocessor`), so no execution's state is shared.

(DynamoDB's: cli/local/dynamodb_fast.py.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

PARSED_PATHS = 4096  # distinct JSONPaths kept parsed (a definition has a few dozen)
PARSED_DEFINITIONS = 64  # state machine definitions kept parsed (the orchestrator has two)


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    saved = {module: module.parse for module in (json_path, result_path)}
    for module, parse in saved.items():
        module.parse = functools.lru_cache(maxsize=PARSED_PATHS)(parse)
    undo_definitions = _definitions_parsed_once()

    def undo() -> None:
        undo_definitions()
        for module, parse in saved.items():
            module.parse = parse

    return undo


def _definitions_parsed_once() -> Callable[[], None]:
    """`AmazonStateLanguageParser.parse`: the parse tree kept per definition text, the
    program built anew from it per call. A definition that does not parse is not kept
    (its error is raised again, as moto raises it)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.__dict__["parse"]

    @functools.lru_cache(maxsize=PARSED_DEFINITIONS)
    def tree_of(definition: str) -> Any:
        return original.__func__(definition)[1]

    def parse(definition: str) -> tuple[Any, Any]:
        tree = tree_of(definition)
        return Preprocessor().visit(tree), tree

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    return lambda: setattr(AmazonStateLanguageParser, "parse", original)
