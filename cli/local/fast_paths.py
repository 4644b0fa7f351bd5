"""moto's Step Functions hot path made cheap, found by profiling the local AWS (bench/profile.py).

- moto's Step Functions interpreter parses every JSONPath of every state each
  time it evaluates one, and jsonpath-ng builds a new parser (its yacc tables)
  per parse: about a tenth of the local AWS's CPU per scenario step. Parsed
  paths are immutable, so they are kept per path text. A path that only names
  fields (`$.Payload`, `$.a.b`, most of a definition's) is then found by
  walking the dicts, where jsonpath-ng builds a match object per step; a field
  missing or a value that is not a dict asks jsonpath-ng itself, so its
  answers and errors stay moto's.
- Every execution parsed its state machine's whole definition with ANTLR's
  Python runtime and built its program from the parse tree (moto's
  `Preprocessor`) before its first state: with 50 runs at once, over a
  quarter of the server's CPU. Both are kept per definition text, and every
  execution of a definition evaluates the same program. That is safe because
  moto's components keep nothing of an evaluation on themselves (moto 5.2.5
  read for it: no method of a component but its constructor and
  `from_state_props` assigns or mutates its attributes; an evaluation's values
  live in its `Environment`: stack, heap, states, frames; the pools, workers
  and records of Map and Parallel are made per evaluation; values a component
  holds, e.g. a Pass state's `Result`, are deep-copied before anything
  changes them), and moto itself already runs one item program in many
  threads for a Map. The one exception: a component draws its `heap_key` (the
  name its retriers' counters are kept under in an execution's heap) on first
  use, which two executions could race to do; it is drawn before the program
  is shared.

(DynamoDB's: cli/local/dynamodb_fast.py.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

PARSED_PATHS = 4096  # distinct JSONPaths kept parsed (a definition has a few dozen)
PARSED_DEFINITIONS = 64  # state machine definitions kept built (the orchestrator has two)
MOTO_ASL = "moto.stepfunctions.parser.asl."  # the modules of moto's interpreter


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    saved = {module: module.parse for module in (json_path, result_path)}
    result_path.parse = functools.lru_cache(maxsize=PARSED_PATHS)(result_path.parse)
    json_path.parse = functools.lru_cache(maxsize=PARSED_PATHS)(
        lambda path: FieldChain.of(saved[json_path](path))
    )
    undo_definitions = _definitions_parsed_once()

    def undo() -> None:
        undo_definitions()
        for module, parse in saved.items():
            module.parse = parse

    return undo


class FieldChain:
    """A parsed JSONPath that names fields only (`$.a.b`), found by walking dicts: what
    moto's `extract_json` reads of a match (its value, its path: a field, its context:
    not an array index) is what jsonpath-ng's own match would hold."""

    def __init__(self, expression: Any, names: tuple[str, ...]) -> None:
        from jsonpath_ng.jsonpath import Fields

        self.expression = expression
        self.names = names
        self.last = Fields(names[-1])

    @classmethod
    def of(cls, expression: Any) -> Any:
        """`expression` itself unless it is `$` then one field after another."""
        from jsonpath_ng.jsonpath import Child, Fields, Root

        names: list[str] = []
        inner = expression
        while type(inner) is Child and type(inner.right) is Fields:
            fields = inner.right.fields
            if len(fields) != 1 or fields[0] == "*":
                return expression
            names.append(fields[0])
            inner = inner.left
        if type(inner) is not Root or not names:
            return expression
        return cls(expression, tuple(reversed(names)))

    def find(self, data: Any) -> list[Any]:
        from jsonpath_ng.jsonpath import DatumInContext

        value = data
        for name in self.names:
            if type(value) is not dict or name not in value:
                return self.expression.find(data)  # jsonpath-ng's answer, none or another
            value = value[name]
        return [DatumInContext(value, path=self.last)]


def _definitions_parsed_once() -> Callable[[], None]:
    """`AmazonStateLanguageParser.parse`: the program and its parse tree kept per definition
    text. A definition that does not parse is not kept (its error is raised again, as moto
    raises it)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.__dict__["parse"]

    @functools.lru_cache(maxsize=PARSED_DEFINITIONS)
    def parse(definition: str) -> tuple[Any, Any]:
        tree = original.__func__(definition)[1]
        program = Preprocessor().visit(tree)
        _name_components(program)
        return program, tree

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    return lambda: setattr(AmazonStateLanguageParser, "parse", original)


def _name_components(program: Any) -> None:
    """Give every component of `program` its `heap_key` (the name its per-evaluation values
    are kept under in an execution's heap, which moto draws on first use) before the program
    is shared, so no two executions ever draw different names for one component."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending: list[Any] = [program]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
        elif type(value).__module__.startswith(MOTO_ASL):
            if isinstance(value, EvalComponent):
                value.heap_key  # noqa: B018  (drawn now, once)
            pending.extend(vars(value).values() if hasattr(value, "__dict__") else ())
