"""moto's DynamoDB made cheap where itest's handlers and CLI spend it, with moto's answers.

Found by profiling the local AWS (bench/profile.py); each patch keeps moto's
behaviour, errors included (tests/aws/test_dynamodb_fast.py asks both ways):

- **Answers.** moto writes each answer by walking the botocore model, asking a
  chain of alias lookups for every attribute value of every item (a third of
  DynamoDB's time). cli/local/dynamodb_json.py writes the same JSON from a walk
  compiled once per operation; an answer it cannot copy exactly, and every
  error, still goes through moto's serializer.
- **Projections.** To project an item (GetItem's and BatchGetItem's
  ProjectionExpression), moto converts the *whole* item to Python values once
  per projected name: the run record, which lists every step's name, cost more
  the longer the scenario. Only the attributes the expression names are
  converted now (moto's code then picks from those as before), and top-level
  text, booleans and numbers are picked without converting them.
- **Query.** moto's `Query` on a table's own key sorts *every item of the
  table* before it picks the partition asked for, so each progress poll of the
  CLI cost more the more runs a kept-up local AWS had seen. It now looks at the
  one partition, as DynamoDB does (the same items, the same order).
- **Whole requests.** The engine's PutItem (its condition included) and Query
  of plain items (text, numbers, booleans) are answered by
  cli/local/dynamodb_direct.py without moto's validation walks, copies and
  conversions; any other request by moto's handler, from the start.
- **Tracked items.** moto keeps every `Item` it ever made in a list (its
  `/moto-api/data.json` view): every overwritten item, every copy a Query
  answered from. Items are no longer tracked.
- **New items.** moto checks an item's size before each attribute it adds by
  summing all the attributes already added; the sum now runs once.
- **Update expressions.** moto parses an UpdateItem's expression twice and
  validates a deep copy of the tree (twice for a new item) with ten walks,
  each looking up which node types it handles at every node; two of them (one
  SET/ADD/REMOVE clause each, no overlapping paths) re-collect the actions
  below *every* node: quadratic in the actions. Now the tree is parsed once per
  expression text (its users only read it), copied node by node, walked with
  the node types looked up once, and those two checks run at the root, which
  holds every action (the grammar nests no action in another); when the root
  fails, moto's own walk runs, so the error is moto's, word for word.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Callable
from typing import Any

from itest.cli.local.undo import Undo, in_reverse

PARSED_EXPRESSIONS = 1024  # distinct expressions kept parsed, of each kind (itest's use a few)


def install() -> Undo:
    """Patch moto's DynamoDB; return the function that undoes it.

    Installed with the others by cli/local/moto_patches.py, which checks the moto version.
    """
    from itest.cli.local import dynamodb_direct, dynamodb_values

    undoes = [
        dynamodb_values.install(),
        dynamodb_direct.install(),
        _items_untracked(),
        _answers_without_the_model_walk(),
        _project_named_attributes_only(),
        _size_new_items_once(),
        _query_one_partition(),
        _parse_update_expressions_once(),
        _parse_conditions_once(),
        _copy_trees_by_their_nodes(),
        _walk_update_expressions_once(),
        _check_clauses_at_the_root(),
    ]
    return in_reverse(undoes)


def _items_untracked() -> Undo:
    """moto's models append every instance they make to their class's `instances_tracked`
    (read by moto's `/moto-api/data.json` view only, emptied by a reset); for DynamoDB's
    `Item` that is every item ever written, overwritten, copied for a Query's answer or
    projected: about six a scenario step, kept for the local AWS's life, and walked by
    each full garbage collection. An item is no longer tracked."""
    from moto.dynamodb.models.dynamo_type import Item

    Item.__new__ = staticmethod(_untracked)  # type: ignore[method-assign,assignment]
    return lambda: delattr(Item, "__new__")


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def _answers_without_the_model_walk() -> Undo:
    from itest.cli.local import dynamodb_direct, dynamodb_json
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    plain = (ActionResult, DynamoResult)
    return dynamodb_json.install(DynamoHandler, plain, written=(dynamodb_direct.Written,))


def _project_named_attributes_only() -> Undo:
    """`Item.project` reads, per projected path, the attribute its first name
    designates (`a`, or `a` of `a[2]`): the item it projects holds just those.
    Projected top-level attributes that are text, booleans or numbers (the CLI's
    progress reads) are picked directly: moto's round trip through Python values
    gives text and booleans back as they were, and a number as boto3 writes it."""
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict, deserializer, serializer

    project = Item.project

    def picked(self: Item, projection_expressions: list[list[str]]) -> Item | None:
        """The projection when every path is a top-level name of such a value, else None."""
        attrs: dict[str, Any] = {}
        for path in projection_expressions:
            if len(path) != 1 or "[" in path[0]:  # moto reads `a[1]` as an index
                return None
            value = self.attrs.get(path[0])
            if value is None:
                continue
            kind, inner = value.type, value.value
            if (kind == "S" and type(inner) is str) or (kind == "BOOL" and type(inner) is bool):
                attrs[path[0]] = {kind: inner}
            elif kind == "N" and type(inner) is str:
                attrs[path[0]] = serializer.serialize(deserializer.deserialize({"N": inner}))
            else:
                return None
        return Item(self.hash_key, self.range_key, attrs)

    def project_(self: Item, projection_expressions: list[list[str]]) -> Item:
        if (projected := picked(self, projection_expressions)) is not None:
            return projected
        firsts = {path[0] for path in projection_expressions if path}
        named = [
            key
            for key in self.attrs
            if key in firsts or any(first.startswith(key + "[") for first in firsts)
        ]
        if len(named) == len(self.attrs):
            return project(self, projection_expressions)
        narrow = Item.__new__(Item)
        narrow.hash_key, narrow.range_key = self.hash_key, self.range_key
        narrow.attrs = LimitedSizeDict.__new__(LimitedSizeDict)  # a part of a checked item
        dict.__init__(narrow.attrs, {key: self.attrs[key] for key in named})
        return project(narrow, projection_expressions)

    Item.project = project_
    return lambda: setattr(Item, "project", project)


def _size_new_items_once() -> Undo:
    """A new item checks its size (at most 405,000 bytes) before each attribute it
    adds, summing every attribute already added: quadratic in the attributes. It
    now adds each one's size to a running sum, raising at the same attribute."""
    from itest.cli.local.dynamodb_values import ITEM_SIZE_LIMIT
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    init = Item.__init__

    def init_(self: Item, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key, self.range_key = hash_key, range_key
        self.attrs = LimitedSizeDict()
        size = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size += bytesize(key) + typed.size()
            if size > ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, typed)

    Item.__init__ = init_
    return lambda: setattr(Item, "__init__", init)


def _query_one_partition() -> Undo:
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


def _parse_update_expressions_once() -> Undo:
    """Its callers only read the tree `UpdateExpressionParser.make` returns (the
    validator validates a deep copy): one tree per expression text is kept."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = UpdateExpressionParser.__dict__["make"]
    UpdateExpressionParser.make = classmethod(
        functools.lru_cache(maxsize=PARSED_EXPRESSIONS)(make.__func__)
    )
    return lambda: setattr(UpdateExpressionParser, "make", make)


def _parse_conditions_once() -> Undo:
    """A condition (or filter) expression is parsed with its names and values into a
    tree of operators that only read the item they are asked about: one tree per
    expression, names and values is kept, with the names and values it used (moto's
    handler checks them). A PutItem or UpdateItem with a condition asks twice, so
    the claim of each step is parsed once in all. What fails to parse is parsed
    again next time: moto raises its own error."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parse = ConditionExpressionParser.parse

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS)
    def parsed(expression: str, names: str, values: str) -> tuple[Any, list[str], list[str]]:
        parser = ConditionExpressionParser(expression, json.loads(names), json.loads(values))
        tree = parse(parser)
        return tree, parser.expr_attr_names_found, parser.expr_attr_values_found

    def parse_(self: ConditionExpressionParser) -> Any:
        if not self.condition_expression:
            return parse(self)
        try:
            names = json.dumps(self.expression_attribute_names)
            values = json.dumps(self.expression_attribute_values)
        except (TypeError, ValueError):  # a binary value: bytes
            return parse(self)
        tree, names_found, values_found = parsed(self.condition_expression, names, values)
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return tree

    ConditionExpressionParser.parse = parse_
    return lambda: setattr(ConditionExpressionParser, "parse", parse)


def _copy_trees_by_their_nodes() -> Undo:
    """A node's deep copy as `copy.deepcopy`'s default makes it (every attribute
    copied deeply, through the memo), without its pickle protocol round trip, and
    the list of children copied here, each child node by this same function."""
    from moto.dynamodb.parsing.ast_nodes import Node

    def copied(value: Any, memo: dict[int, Any]) -> Any:
        if type(value) in _ATOMIC:
            return value
        if id(value) in memo:
            return memo[id(value)]
        if getattr(type(value), "__deepcopy__", None) is deepcopy_node:
            return deepcopy_node(value, memo)
        if type(value) is list:
            items = memo[id(value)] = []
            items.extend(copied(item, memo) for item in value)
            return items
        return copy.deepcopy(value, memo)

    def deepcopy_node(self: Any, memo: dict[int, Any]) -> Any:
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        attributes = clone.__dict__
        for name, value in self.__dict__.items():
            attributes[name] = copied(value, memo)
        return clone

    Node.__deepcopy__ = deepcopy_node
    return lambda: delattr(Node, "__deepcopy__")


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _walk_update_expressions_once() -> Undo:
    """moto's depth-first walk, with the processor for each node's class found once
    per walk (moto's `_processing_map` builds a dict, and `isinstance` asks abc, at
    every node), and its no-op hook before each child skipped."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    traverse = DepthFirstTraverser.traverse
    own = DepthFirstTraverser.__dict__
    hooks = ("process", "nodes_to_be_processed", "traverse_node_recursively")
    is_node: dict[type, bool] = {}  # a class is a Node or not for good

    def traverse_(self: DepthFirstTraverser, root: Any) -> Any:
        if any(getattr(type(self), hook) is not own[hook] for hook in hooks):
            return traverse(self, root)
        processors = tuple(self._processing_map().items())
        processor_of: dict[type, Any] = {}
        before_child = self.pre_processing_of_child
        if type(self).pre_processing_of_child is own["pre_processing_of_child"]:
            before_child = None

        def walk(node: Any, child_id: int = -1) -> Any:
            kind = type(node)
            if kind not in is_node:
                is_node[kind] = issubclass(kind, Node)
            if not is_node[kind]:
                return node
            parent = node.parent
            if node.children is not None:
                for i, child in enumerate(node.children):
                    if before_child is not None:
                        before_child(node, i)
                    walk(child, i)
            if kind not in processor_of:
                processor_of[kind] = next(
                    (process for handled, process in processors if issubclass(kind, handled)), None
                )
            process = processor_of[kind]
            if process is not None:
                node = process(node)
                node.parent = parent
                if parent:
                    parent.children[child_id] = node
            return node

        return walk(root)

    DepthFirstTraverser.traverse = traverse_
    return lambda: setattr(DepthFirstTraverser, "traverse", traverse)


def _check_clauses_at_the_root() -> Undo:
    from moto.dynamodb.parsing.ast_nodes import UpdateExpression
    from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator

    checks = {
        ActionCountValidator: ActionCountValidator.verify_action_counts,
        OverlappingPathsValidator: OverlappingPathsValidator.check_for_overlapping_paths,
    }
    saved = {validator: validator.__dict__.get("traverse") for validator in checks}

    def at_the_root(validator: type, check: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        walk = validator.traverse

        def traverse_(self: Any, node: Any) -> Any:
            if isinstance(node, UpdateExpression):
                try:
                    check(self, node)
                    return node
                except Exception:
                    pass  # moto's walk raises its own error
            return walk(self, node)

        return traverse_

    for validator, check in checks.items():
        validator.traverse = at_the_root(validator, check)

    def undo() -> None:
        for validator, traverse in saved.items():
            if traverse is None:
                del validator.traverse
            else:
                validator.traverse = traverse

    return undo
