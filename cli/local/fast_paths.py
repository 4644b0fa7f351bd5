"""Three of moto's hot paths made cheap, found by profiling the local AWS (bench/profile.py).

- **JSONPath.** moto's Step Functions interpreter parses every JSONPath of every
  state each time it evaluates one, and jsonpath-ng builds a new parser (its
  yacc tables) per parse: about a tenth of the local AWS's CPU per scenario step.
  Parsed paths are immutable, so they are kept per path text.
- **Query.** moto's DynamoDB `Query` on a table's own key sorts *every item of
  the table* before it picks the partition asked for, so each progress poll of
  the CLI cost more the more runs a kept-up local AWS had seen. It now looks at
  the one partition, as DynamoDB does (the same items, the same order).
- **UpdateItem.** moto checks that an update expression has at most one SET, ADD
  and REMOVE clause by collecting the clauses below *every* node of its tree: a
  cost quadratic in the actions, a quarter of an 8-action update's CPU. The
  root holds every clause, so it is checked there once (the same errors).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

PARSED_PATHS = 4096  # distinct JSONPaths kept parsed (a definition has a few dozen)


def install() -> Callable[[], None]:
    """Patch moto; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    undoes = [_parse_paths_once(), _query_one_partition(), _count_clauses_once()]

    def undo() -> None:
        for undo_one in reversed(undoes):
            undo_one()

    return undo


def _parse_paths_once() -> Callable[[], None]:
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    saved = {module: module.parse for module in (json_path, result_path)}
    for module, parse in saved.items():
        module.parse = functools.lru_cache(maxsize=PARSED_PATHS)(parse)

    def undo() -> None:
        for module, parse in saved.items():
            module.parse = parse

    return undo


def _query_one_partition() -> Callable[[], None]:
    """`Table.query` on the table's key reads `all_items()`: within such a query, that
    is the partition's items (per thread: a scan running beside it sees them all)."""
    from moto.dynamodb.models.table import Table

    query, all_items = Table.query, Table.all_items
    querying = threading.local()

    def all_items_(self: Table) -> list[Any]:
        partition = getattr(querying, "partition", None)
        if partition is None or partition[0] is not self:
            return all_items(self)
        found = self.items.get(partition[1])
        if found is None:
            return []
        return list(found.values()) if self.range_key_attr else [found]

    def query_(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        querying.partition = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            querying.partition = None

    Table.query, Table.all_items = query_, all_items_

    def undo() -> None:
        Table.query, Table.all_items = query, all_items

    return undo


def _count_clauses_once() -> Callable[[], None]:
    from moto.dynamodb.parsing.ast_nodes import UpdateExpression
    from moto.dynamodb.parsing.validators import ActionCountValidator

    traverse = ActionCountValidator.traverse

    def traverse_(self: ActionCountValidator, node: Any) -> Any:
        if not isinstance(node, UpdateExpression):
            return traverse(self, node)
        return self.verify_action_counts(node)

    ActionCountValidator.traverse = traverse_
    return lambda: setattr(ActionCountValidator, "traverse", traverse)
