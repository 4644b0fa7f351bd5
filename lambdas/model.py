"""The scenario format: the contract between a user's file, the CLI and the Lambdas.

``itest validate``, the CLI's upload and the Prepare Lambda all go through
:func:`load_scenario`, which reports every problem at once, each with file,
location and what was expected (:class:`ScenarioError`). Values of ``with`` and
of matchers may be templates, so their types are checked where they are plain
values now, and again after rendering at run time.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from itest.lambdas import limits
from itest.lambdas.actions import ACTIONS, FAMILIES, get_action, known_names
from itest.lambdas.actions.listener import LISTENER_NAME
from itest.lambdas.conditions import SKIP_NAMES, path_problems
from itest.lambdas.errors import ScenarioError, UnknownActionError
from itest.lambdas.event_patterns import EVENTBRIDGE_OPERATORS, SNS_OPERATORS, pattern_problems
from itest.lambdas.expressions import (
    compile_path,
    describe_error,
    find_templates,
    has_template,
    iter_strings,
    name_chains,
    template_problems,
)
from itest.lambdas.matchers import JSON_TYPES, json_type, schema_problem
from itest.lambdas.validation import IDENTIFIER, Loc, Strict, explain, format_loc
from jmespath.exceptions import JMESPathError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

NAME = r"^[a-z0-9-]+$"
MAX_DEPTH = 64
TOO_DEEP = f"the data nests more than {MAX_DEPTH} levels deep; a scenario needs far fewer"
FAMILY_PATTERNS = {"aws.": r"^aws\.[a-z0-9-]+\.[a-z0-9_]+$"}
SECRET_SPEC = re.compile(r"(ssm|secretsmanager):\S+|arn:aws[a-z-]*:(ssm|secretsmanager):\S+")
CONTEXT_NAMES = ("run_id", "attempt_id", "vars", "secret", "steps", "now")
VARS_CONTEXT_NAMES = ("run_id", "vars", "now")
PATH_LISTS = ("expect", "stop_if", "assertions", "skip_if")
MATCHER_FIELDS = (
    "equals", "not_equals", "contains", "not_contains", "matches", "exists", "type",
    "gt", "gte", "lt", "lte", "length", "one_of", "subset", "schema",
)  # fmt: skip

__all__ = [
    "Capture",
    "CleanupAction",
    "Expectation",
    "Listener",
    "Retry",
    "Scenario",
    "ScenarioError",
    "Step",
    "load_scenario",
    "load_scenario_file",
    "scenario_json_schema",
]


def _compiles(path: str) -> str:
    try:
        compile_path(path)
    except JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression {path!r}: {describe_error(exc)}") from None
    return path


JmesPath = Annotated[str, AfterValidator(_compiles)]


def _known_action(name: str) -> str:
    try:
        get_action(name)
    except UnknownActionError as exc:
        if exc.why:
            raise ValueError(str(exc)) from None
        message = f"unknown action {name!r}"
        close = difflib.get_close_matches(name, list(ACTIONS), n=1)
        if not close and _is_action(f"aws.{name}"):
            close = [f"aws.{name}"]
        if close:
            message += f" (did you mean {close[0]!r}?)"
        raise ValueError(f"{message}; known actions: {', '.join(known_names())}") from None
    return name


def _is_action(name: str) -> bool:
    try:
        get_action(name)
    except UnknownActionError:
        return False
    return True


def _identifiers(names: Mapping[str, Any]) -> Mapping[str, Any]:
    bad = [name for name in names if not IDENTIFIER.fullmatch(name)]
    if bad:
        raise ValueError(
            f"names must be identifiers (letters, digits, _; not starting with a digit) "
            f"so templates can use them: {', '.join(map(repr, bad))}"
        )
    return names


class Expectation(Strict):
    """``{path: <jmespath>, <matcher>: <value>, ...}``: every matcher given must hold."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 2})

    path: JmesPath = Field(description="JMESPath over the action's result ('@' for all of it)")
    equals: Any = None
    not_equals: Any = None
    contains: Any = Field(default=None, description="substring, array element or object key")
    not_contains: Any = None
    matches: str | None = Field(default=None, description="regular expression (re.search)")
    exists: bool | None = Field(default=None, description="true: the value is not null")
    type: Literal[JSON_TYPES] | None = None  # type: ignore[valid-type]
    gt: Any = Field(default=None, json_schema_extra={"type": ["number", "string"]})
    gte: Any = Field(default=None, json_schema_extra={"type": ["number", "string"]})
    lt: Any = Field(default=None, json_schema_extra={"type": ["number", "string"]})
    lte: Any = Field(default=None, json_schema_extra={"type": ["number", "string"]})
    length: Any = Field(default=None, json_schema_extra={"type": ["integer", "string"]})
    one_of: Any = Field(default=None, json_schema_extra={"type": ["array", "string"]})
    subset: Any = Field(default=None, description="partial object/array match")
    schema_: dict[str, Any] | None = Field(default=None, alias="schema", description="JSON Schema")

    @field_validator("matches")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None and not has_template(pattern):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return pattern

    @field_validator("schema_")
    @classmethod
    def _json_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None and not has_template(schema):
            problem = schema_problem(schema)
            if problem:
                raise ValueError(problem)
        return schema

    @field_validator("gt", "gte", "lt", "lte")
    @classmethod
    def _comparable(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"expected a number or a string, got {json_type(value)}")
        return value

    @field_validator("length")
    @classmethod
    def _length(cls, value: Any) -> Any:
        if isinstance(value, str) and has_template(value):
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"expected a whole number >= 0, got {json_type(value)} {value!r}")
        return value

    @field_validator("one_of")
    @classmethod
    def _choices(cls, value: Any) -> Any:
        if not isinstance(value, list) and not (isinstance(value, str) and has_template(value)):
            raise ValueError(f"expected a list of choices, got {json_type(value)}")
        return value

    @model_validator(mode="after")
    def _some_matcher(self) -> Expectation:
        given = self.matchers()
        if not given:
            names = ", ".join(MATCHER_FIELDS)
            raise ValueError(f"expectation on {self.path!r} has no matcher; add one of: {names}")
        typed = ("matches", "exists", "type", "schema")
        nulls = [name for name in typed if name in given and given[name] is None]
        if nulls:
            raise ValueError(f"matcher {nulls[0]!r} needs a value, not null")
        return self

    def matchers(self) -> dict[str, Any]:
        """The matchers given, by scenario name, with their expected values."""
        given = self.model_fields_set
        return {
            name: getattr(self, "schema_" if name == "schema" else name)
            for name in MATCHER_FIELDS
            if ("schema_" if name == "schema" else name) in given
        }


class Retry(Strict):
    """Poll the step until ``expect`` passes (eventual consistency)."""

    timeout_seconds: float = Field(
        gt=0, le=86400, description="give up this long after the first attempt"
    )
    interval_seconds: float = Field(
        default=2, gt=0, le=3600, description="first wait; rounded up to whole seconds (>= 1)"
    )
    backoff: float = Field(
        default=1, ge=1, le=10, description="each wait is the previous one times this"
    )

    @model_validator(mode="after")
    def _bounds(self) -> Retry:
        if self.interval_seconds > self.timeout_seconds:
            raise ValueError(
                f"interval_seconds ({self.interval_seconds:g}) is longer than timeout_seconds "
                f"({self.timeout_seconds:g}): the step would be tried at most twice; "
                "shorten the interval or lengthen the timeout"
            )
        return self


class CleanupAction(Strict):
    """An action run after the steps, pass or fail, and what success means for it."""

    action: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    expect: list[Expectation] = Field(
        default_factory=list,
        description="what the action's result must look like for the cleanup to count as done "
        "(default for http: a status below 400)",
    )
    retry: Retry | None = Field(
        default=None, description="try again until it succeeds (things the service creates late)"
    )
    allow_failure: bool = Field(
        default=False, description="a failure is reported but does not fail the run"
    )

    _known = field_validator("action")(_known_action)


class Capture(Strict):
    """``{path: <jmespath>, optional: true}``: a capture that may select nothing."""

    path: JmesPath = Field(description="JMESPath over the action's result")
    optional: bool = Field(
        default=False, description="true: selecting nothing captures null instead of failing"
    )


def _long_form(value: Any) -> Any:
    """``name: <jmespath>`` is ``name: {path: <jmespath>}`` (a bad path is reported at
    the capture's name, as written)."""
    return {"path": _compiles(value)} if isinstance(value, str) else value


CaptureSpec = Annotated[Capture, BeforeValidator(_long_form)]


class Step(Strict):
    """One action, what its result must look like, and what to keep from it."""

    name: str = Field(min_length=1, max_length=80)
    action: str = Field(description="registry key, e.g. http or dynamodb.get_item")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    expect: list[Expectation] = Field(default_factory=list)
    capture: dict[str, CaptureSpec] = Field(
        default_factory=dict,
        description="var name -> JMESPath over the result; selecting nothing fails the step "
        "unless written {path: ..., optional: true}",
    )
    retry: Retry | None = None
    stop_if: list[Expectation] = Field(
        default_factory=list, description="fail at once (no more polling) if any of these holds"
    )
    cleanup: CleanupAction | None = Field(default=None, description="run only if this step ran")
    skip_if: list[Expectation] = Field(
        default_factory=list,
        description="skip the step when any of these holds over {run_id, vars, steps, now}",
    )

    _known = field_validator("action")(_known_action)

    _capture = field_validator("capture")(_identifiers)


class EventBridgeSource(Strict):
    """A temporary rule on ``bus`` with ``pattern``, an SQS queue of the run as its target."""

    bus: str = Field(default="default", min_length=1, description="event bus name or ARN")
    pattern: dict[str, Any] = Field(description="an EventBridge event pattern")


class SnsSource(Strict):
    """A temporary SQS subscription of the run to ``topic``."""

    topic: str = Field(description="topic ARN")
    filter: dict[str, Any] | None = Field(default=None, description="an SNS filter policy")
    filter_scope: Literal["attributes", "body"] = Field(
        default="attributes", description="what the filter policy applies to"
    )

    @field_validator("topic")
    @classmethod
    def _arn(cls, topic: str) -> str:
        if not topic.startswith("arn:") and not has_template(topic):
            raise ValueError(f"expected the topic's ARN (arn:aws:sns:...), got {topic!r}")
        return topic


class Listener(Strict):
    """Events the run catches while it runs: exactly one source."""

    eventbridge: EventBridgeSource | None = None
    sns: SnsSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Listener:
        given = [name for name in ("eventbridge", "sns") if getattr(self, name) is not None]
        if len(given) != 1:
            got = " and ".join(given) if given else "none"
            raise ValueError(f"a listener needs exactly one source, eventbridge or sns; got {got}")
        return self

    @property
    def kind(self) -> str:
        return "eventbridge" if self.eventbridge is not None else "sns"


class Scenario(Strict):
    """A whole test: steps run in order, then assertions, then cleanup."""

    name: str = Field(pattern=NAME, max_length=80, description="[a-z0-9-]+")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    timeout_seconds: int = Field(default=600, gt=0, le=86400)
    vars: dict[str, Any] = Field(
        default_factory=dict, description="rendered in order; --var overrides win"
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="name -> ssm:<parameter> or secretsmanager:<secret id>",
    )
    listeners: dict[str, Listener] = Field(
        default_factory=dict,
        description="name -> source; created before the first step, removed by cleanup",
    )
    steps: list[Step] = Field(min_length=1)
    assertions: list[Expectation] = Field(
        default_factory=list, description="over {run_id, vars, steps} after the last step"
    )
    cleanup: list[CleanupAction] = Field(default_factory=list)

    _vars = field_validator("vars")(_identifiers)

    @field_validator("listeners")
    @classmethod
    def _listener_names(cls, listeners: dict[str, Listener]) -> dict[str, Listener]:
        bad = [name for name in listeners if not re.fullmatch(LISTENER_NAME, name)]
        if bad:
            raise ValueError(
                f"listener names are 1-24 letters, digits, - or _ (they name AWS resources): "
                f"{', '.join(map(repr, bad))}"
            )
        return listeners

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, secrets: dict[str, str]) -> dict[str, str]:
        _identifiers(secrets)
        for name, spec in secrets.items():
            if not SECRET_SPEC.fullmatch(spec):
                raise ValueError(
                    f"secret {name!r}: expected ssm:<parameter name> or "
                    f"secretsmanager:<secret id>, got {spec!r}"
                )
        return secrets

    @property
    def step_names(self) -> list[str]:
        return [step.name for step in self.steps]

    def steps_read_by(self, index: int) -> list[int] | None:
        """The earlier steps whose records step ``index``'s templates name
        (``steps."create order".result``, or a ``skip_if`` path reads), so that an
        attempt reads those and no others; None when a template uses ``steps`` as a
        whole (``keys(steps)``)."""
        step = self.steps[index]
        checks = (*step.expect, *step.stop_if, *step.skip_if)
        values = [step.with_, *(e.model_dump() for e in checks)]
        earlier = {name: i for i, name in enumerate(self.step_names[:index])}
        named: set[int] = set()
        exprs = [expr for _, text in iter_strings(values) for expr in find_templates(text)]
        exprs += [e.path for e in step.skip_if]  # skip_if paths read the context itself
        for expr in exprs:
            try:
                chains = name_chains(compile_path(expr).parsed)
            except JMESPathError:
                continue  # rendering reports it
            for chain in chains:
                if chain[0] != "steps":
                    continue
                if len(chain) == 1:
                    return None
                if chain[1] in earlier:
                    named.add(earlier[chain[1]])
        return sorted(named)

    def to_json(self) -> str:
        """The normalized form the CLI uploads and the Lambdas read (stable for hashing)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def load_scenario(text: str, *, source: str, folder: Path | None = None) -> Scenario:
    """Parse and validate a scenario (YAML or JSON). With `folder` (the scenario file's),
    ``json_file: <path>`` in a ``with`` is read from there and becomes ``json:``.

    Raises:
        ScenarioError: every problem found, each with file, location and message.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > limits.SCENARIO_LIMIT_BYTES:
        message = (
            f"the file is {size / 1024:.0f} KiB; a scenario may be at most "
            f"{limits.SCENARIO_LIMIT_BYTES // 1024} KiB: split it, or move data to a file in S3"
        )
        raise ScenarioError([{"file": source, "location": "", "message": message}])
    data = _parse(text, source)
    problems = _inline_json_files(data, folder) + _json_problems(data)
    if not problems:
        scenario = None
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            problems = explain(exc, Scenario)
        # every check at once: a user fixes a file in one pass, not one layer at a time
        problems += _cross_problems(data)
        problems += _bounds_problems(data)
        if not problems and scenario is not None:
            problems = _history_problems(scenario)
        if not problems and scenario is not None:
            return scenario
    raise ScenarioError(
        [{"file": source, "location": format_loc(loc, data), "message": m} for loc, m in problems]
    )


def load_scenario_file(path: str | Path) -> Scenario:
    """Read and validate one scenario file.

    Raises:
        ScenarioError: the file cannot be read, or every problem in it.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = {"file": str(path), "location": "", "message": f"cannot read: {exc}"}
        raise ScenarioError([problem]) from None
    return load_scenario(text, source=str(path), folder=Path(path).parent)


def _inline_json_files(data: dict[str, Any], folder: Path | None) -> list[tuple[Loc, str]]:
    """Replace each ``json_file: <path>`` of a step's or cleanup's ``with`` by ``json:``
    and the file's content (relative to the scenario's folder), so that what is
    uploaded holds the body itself."""
    problems: list[tuple[Loc, str]] = []
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    cleanups = data.get("cleanup") if isinstance(data.get("cleanup"), list) else []
    places: list[tuple[Loc, Any]] = [(("steps", i), step) for i, step in enumerate(steps)]
    places += [(("steps", i, "cleanup"), s.get("cleanup")) for i, s in enumerate(steps)
               if isinstance(s, dict)]
    places += [(("cleanup", i), spec) for i, spec in enumerate(cleanups)]
    for loc, spec in places:
        params = spec.get("with") if isinstance(spec, dict) else None
        if not isinstance(params, dict) or "json_file" not in params:
            continue
        where: Loc = (*loc, "with", "json_file")
        name = params.pop("json_file")
        if "json" in params:
            problems.append((where, "give json or json_file, not both"))
        elif not isinstance(name, str) or folder is None:
            problems.append((where, "expected a path to a JSON file, relative to the scenario"))
        else:
            try:
                params["json"] = json.loads((folder / name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append((where, f"cannot read {name}: {exc.strerror or exc}"))
            except ValueError as exc:
                problems.append((where, f"{name} is not JSON: {exc}"))
    return problems


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (``itest schema``), actions enumerated."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "itest scenario"
    capture = schema["$defs"]["Step"]["properties"]["capture"]
    capture["additionalProperties"] = {  # the short form: name -> JMESPath
        "anyOf": [{"type": "string", "description": "JMESPath over the result"},
                  capture["additionalProperties"]],
    }
    names = {"enum": sorted(ACTIONS)}
    families = [{"pattern": FAMILY_PATTERNS[prefix]} for prefix in FAMILIES]
    for model in ("Step", "CleanupAction"):
        action = schema["$defs"][model]["properties"]["action"]
        action["anyOf"] = [names, *families]
        action["description"] = f"one of {', '.join(known_names())}"
        schema["$defs"][model]["allOf"] = [_with_keys(name) for name in sorted(ACTIONS)]
    return schema


def _with_keys(name: str) -> dict[str, Any]:
    """``with`` keys of one action; values stay open, since they may be templates."""
    params = ACTIONS[name].params
    keys = {field.alias or key: field for key, field in params.model_fields.items()}
    properties = {
        key: {"description": f.description} if f.description else {} for key, f in keys.items()
    }
    if "json" in properties:  # read by the CLI from a file beside the scenario
        properties["json_file"] = {"type": "string", "description": "a JSON file for json"}
    with_schema = {
        "type": "object",
        "properties": properties,
        "required": [key for key, f in keys.items() if f.is_required()],
        "additionalProperties": False,
    }
    return {
        "if": {"properties": {"action": {"const": name}}, "required": ["action"]},
        "then": {"properties": {"with": with_schema}},
    }


ALIASES_REFUSED = (
    "YAML anchors and aliases (&name, *name) are not supported: write the value out, "
    "or share it through vars"
)


@cache
def _yaml_loader() -> type:
    """A SafeLoader that rejects duplicate keys, anchors and aliases, and keeps dates
    as text (JSON has none). Built on first use: the Lambdas read JSON and need no
    yaml module."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            # aliases expand exponentially (a few hundred bytes, billions of nodes)
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise yaml.composer.ComposerError(None, None, ALIASES_REFUSED, event.start_mark)
            return super().compose_node(parent, index)

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: list[Any] = []
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.append(key)
        return loader.construct_mapping(node, deep=True)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def _parse_yaml(text: str) -> Any:
    """Raises:
    ValueError: (location, message) of the first YAML error.
    """
    try:
        import yaml
    except ImportError:  # a Lambda package without PyYAML: the CLI uploads JSON
        raise ValueError("", "this is YAML and PyYAML is not installed here; give JSON") from None

    try:
        return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(where, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ValueError("", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise ValueError("", TOO_DEEP) from None
    except (ValueError, TypeError, ArithmeticError) as exc:  # a constructor's, e.g. a huge int
        raise ValueError("", f"invalid YAML: {exc}") from None


def _parse_json(text: str) -> Any:
    """Raises:
    ValueError: (location, message) of the JSON error.
    """
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(where, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError("", TOO_DEEP) from None
    except ValueError as exc:  # a duplicate key, a huge integer
        raise ValueError("", f"invalid JSON: {exc}") from None


def _depth(data: Any) -> int:
    """How deeply lists and mappings nest (without recursion: the input is untrusted)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                items = value.values() if isinstance(value, dict) else value
                todo += [(item, depth + 1) for item in items]
    return deepest


def _parse(text: str, source: str) -> Any:
    data: Any = None

    def fail(where: str, message: str) -> ScenarioError:
        return ScenarioError([{"file": source, "location": where, "message": message}])

    if not text.strip():
        raise fail("", "the file is empty; expected a mapping with at least 'name' and 'steps'")
    is_json = source.endswith(".json")
    if is_json or text.lstrip().startswith("{"):
        try:
            data = _parse_json(text)
        except ValueError as exc:
            if is_json:
                raise fail(*exc.args) from None
            data = None  # a YAML flow mapping, perhaps: read it as YAML below
    if not is_json and data is None:
        try:
            data = _parse_yaml(text)
        except ValueError as exc:
            raise fail(*exc.args) from None
    if _depth(data) > MAX_DEPTH:
        raise fail("", TOO_DEEP)
    if data is None:
        raise fail("", "the file holds no scenario; expected a mapping with 'name' and 'steps'")
    if not isinstance(data, dict):
        kind = json_type(data)
        raise fail("", f"expected a mapping with 'name' and 'steps' at the top, got {kind}")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json_problems(data: Any, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """YAML can hold what JSON cannot (binary, sets, non-text keys): reject it early."""
    if isinstance(data, dict):
        problems: list[tuple[Loc, str]] = []
        for key, value in data.items():
            if not isinstance(key, str):
                message = f"keys must be text, got {json_type(key)} {key!r} (quote it)"
                problems.append((loc, message))
                continue
            problems += _json_problems(value, (*loc, key))
        return problems
    if isinstance(data, list):
        return [p for i, item in enumerate(data) for p in _json_problems(item, (*loc, i))]
    if data is None or isinstance(data, str | int | float | bool):
        return []
    return [(loc, f"expected a JSON value, got {type(data).__name__}")]


def _cross_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Checks spanning fields, done on the raw data so they run even when other
    parts are invalid: duplicate names, ``with`` against each action's params,
    templates, ``retry`` without ``expect``."""
    declared = data.get("secrets") if isinstance(data.get("secrets"), dict) else {}

    def templates(
        loc: Loc, value: Any, names: tuple[str, ...] = CONTEXT_NAMES, earlier: Any = None
    ) -> list:
        return _template_problems(loc, value, names, declared, earlier)

    problems = templates(("vars",), data.get("vars"), VARS_CONTEXT_NAMES)
    listeners = data.get("listeners") if isinstance(data.get("listeners"), dict) else {}
    problems += templates(("listeners",), listeners, VARS_CONTEXT_NAMES)
    problems += _pattern_problems(listeners)
    steps = data.get("steps")
    seen: dict[str, int] = {}
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        loc: Loc = ("steps", i)
        name = step.get("name")
        if isinstance(name, str):
            if name in seen:
                message = f"duplicate step name {name!r} (also steps[{seen[name]}])"
                problems.append(((*loc, "name"), message))
            seen.setdefault(name, i)
        if _waits(step.get("action")):
            for key in ("retry", "stop_if"):
                if step.get(key):
                    message = (
                        f"a {step['action']} step takes no {key!r}: it waits its window "
                        "(a Wait state) and decides at its end"
                    )
                    problems.append(((*loc, key), message))
        elif step.get("retry") is not None and not step.get("expect"):
            problems.append(((*loc, "retry"), "retry polls until 'expect' passes; add 'expect'"))
        problems += _listener_problems(loc, step, listeners)
        problems += _params_problems(loc, step)
        earlier = [n for n, j in seen.items() if j < i]
        for key in ("with", "expect", "stop_if"):
            problems += templates((*loc, key), step.get(key), earlier=earlier)
        problems += _skip_if_problems((*loc, "skip_if"), step.get("skip_if"), declared)
        cleanup = step.get("cleanup")
        if isinstance(cleanup, dict):
            problems += _cleanup_problems((*loc, "cleanup"), cleanup)
            problems += _params_problems((*loc, "cleanup"), cleanup)
            problems += templates((*loc, "cleanup", "with"), cleanup.get("with"))
            problems += templates((*loc, "cleanup", "expect"), cleanup.get("expect"))
    problems += templates(("assertions",), data.get("assertions"))
    cleanups = data.get("cleanup")
    for i, cleanup in enumerate(cleanups if isinstance(cleanups, list) else []):
        if isinstance(cleanup, dict):
            problems += _cleanup_problems(("cleanup", i), cleanup)
            problems += _params_problems(("cleanup", i), cleanup)
            problems += templates(("cleanup", i, "with"), cleanup.get("with"))
            problems += templates(("cleanup", i, "expect"), cleanup.get("expect"))
    return problems


def _skip_if_problems(loc: Loc, skip_if: Any, declared: dict[str, Any]) -> list[tuple[Loc, str]]:
    """``skip_if`` reads the context without secrets, in its paths and its values."""
    items = skip_if if isinstance(skip_if, list) else []
    problems = [
        ((*loc, i, "path"), message)
        for i, item in enumerate(items)
        if isinstance(item, dict)
        for message in path_problems(item.get("path"))
    ]
    return problems + _template_problems(loc, skip_if, SKIP_NAMES, declared)


def _cleanup_problems(loc: Loc, spec: dict[str, Any]) -> list[tuple[Loc, str]]:
    if _waits(spec.get("action")):
        why = "" if spec["action"] == "wait" else f" ({spec['action']} waits its window)"
        message = f"a cleanup cannot wait{why}: cleanups run within one Lambda invocation"
        return [((*loc, "action"), message)]
    name = spec.get("action")
    if isinstance(name, str) and _is_action(name) and get_action(name).scoped:
        return [((*loc, "action"), f"{name} runs only as a step, not as a cleanup")]
    return []


def _pattern_problems(listeners: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Event patterns and filter policies, each problem at its own place."""
    problems: list[tuple[Loc, str]] = []
    for name, listener in listeners.items():
        source = listener.get("eventbridge") if isinstance(listener, dict) else None
        if isinstance(source, dict) and isinstance(source.get("pattern"), dict):
            loc: Loc = ("listeners", name, "eventbridge", "pattern")
            found = pattern_problems(source["pattern"], operators=EVENTBRIDGE_OPERATORS)
            problems += [((*loc, *where), message) for where, message in found]
        source = listener.get("sns") if isinstance(listener, dict) else None
        if isinstance(source, dict) and isinstance(source.get("filter"), dict):
            loc = ("listeners", name, "sns", "filter")
            nested = source.get("filter_scope") == "body"
            found = pattern_problems(source["filter"], operators=SNS_OPERATORS, nested=nested)
            problems += [((*loc, *where), message) for where, message in found]
    return problems


def _waits(name: Any) -> bool:
    """A ``wait``-like action: its step is a window of the state machine's Wait state."""
    return isinstance(name, str) and _is_action(name) and get_action(name).waits


def _listener_problems(
    loc: Loc, step: dict[str, Any], listeners: dict[str, Any]
) -> list[tuple[Loc, str]]:
    """A listener action names a listener the scenario declares."""
    params = step.get("with")
    if not str(step.get("action", "")).startswith("listener.") or not isinstance(params, dict):
        return []
    name = params.get("listener")
    if not isinstance(name, str) or has_template(name) or name in listeners:
        return []
    declared = ", ".join(map(repr, listeners)) or "none: add a 'listeners:' section"
    message = f"unknown listener {name!r}; declared: {declared}"
    close = difflib.get_close_matches(name, list(listeners), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return [((*loc, "with", "listener"), message)]


def _bounds_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """The run's own bounds, checked on the raw data so that they are reported with
    the model's problems (values of the wrong type are the model's to report)."""
    problems: list[tuple[Loc, str]] = []
    timeout = _number(data.get("timeout_seconds", Scenario.model_fields["timeout_seconds"].default))
    raw_steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    if len(raw_steps) > limits.MAX_STEPS:
        problems.append(
            (
                ("steps",),
                f"{len(raw_steps)} steps; a scenario may have at most {limits.MAX_STEPS} "
                "(the state machine keeps every finished step's state in one 256 KiB payload)",
            )
        )
    for i, step in enumerate(raw_steps):
        if not isinstance(step, dict):
            continue
        retry = step.get("retry") if isinstance(step.get("retry"), dict) else {}
        window = _number(retry.get("timeout_seconds"))
        if timeout is not None and window is not None and window > timeout:
            problems.append(
                (
                    ("steps", i, "retry", "timeout_seconds"),
                    f"{window:g} s is longer than the scenario's "
                    f"timeout_seconds ({timeout:g}): the run would end first; shorten the retry "
                    "or raise the scenario's timeout_seconds",
                )
            )
        params = step.get("with") if isinstance(step.get("with"), dict) else {}
        seconds = _number(params.get("seconds")) if _waits(step.get("action")) else None
        if timeout is not None and seconds is not None and seconds > timeout:
            what = "a wait" if step.get("action") == "wait" else f"a {step.get('action')} window"
            problems.append(
                (
                    ("steps", i, "with", "seconds"),
                    f"{what} of {seconds:g} s is longer than the scenario's timeout_seconds "
                    f"({timeout:g})",
                )
            )
    cleanups: list[Loc] = [("steps", i, "cleanup") for i in range(len(raw_steps))]
    raw_cleanups = data.get("cleanup") if isinstance(data.get("cleanup"), list) else []
    problems += _cleanup_retry_problems(
        data, [*cleanups, *(("cleanup", i) for i in range(len(raw_cleanups)))]
    )
    return problems


def _cleanup_retry_problems(data: dict[str, Any], locs: list[Loc]) -> list[tuple[Loc, str]]:
    """All cleanups run in one Cleanup invocation: their retry windows must fit in it."""
    windows: list[tuple[Loc, float]] = []
    for loc in locs:
        spec: Any = data
        for part in loc:
            if isinstance(spec, dict):
                spec = spec.get(part)
            elif isinstance(spec, list) and isinstance(part, int) and part < len(spec):
                spec = spec[part]
            else:
                spec = None
        retry = spec.get("retry") if isinstance(spec, dict) else None
        window = _number(retry.get("timeout_seconds")) if isinstance(retry, dict) else None
        if window is not None:
            windows.append(((*loc, "retry"), window))
    total = sum(window for _, window in windows)
    if total <= limits.CLEANUP_RETRY_SECONDS:
        return []
    return [(windows[0][0], (
        f"the cleanups' retry windows add up to {total:g} s; at most "
        f"{limits.CLEANUP_RETRY_SECONDS} s (every cleanup runs within one Lambda "
        "invocation): shorten retry.timeout_seconds"
    ))]


def _number(value: Any) -> float | None:
    """A plain number from the raw data (None for anything else, e.g. a template)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _history_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """The most history events the valid scenario could produce, against the limit."""
    problems: list[tuple[Loc, str]] = []
    timeout = scenario.timeout_seconds
    estimate = limits.estimate_history(scenario)
    if estimate.events > estimate.budget:
        worst = max(range(len(scenario.steps)), key=lambda i: estimate.per_step[i])
        step, count = scenario.steps[worst], len(scenario.steps)
        bound = (
            f"{estimate.retries:,} waits at most within timeout_seconds {timeout}"
            if estimate.capped_by_timeout
            else f"{estimate.retries:,} waits at most"
        )
        message = (
            f"this scenario could need {estimate.events:,} Step Functions history events "
            f"({count} step{'s' if count > 1 else ''}, {bound}: "
            f"{limits.EVENTS_PER_RETRY} events per retry, {limits.EVENTS_PER_STEP} per step, "
            f"{limits.EVENTS_FIXED} per run); an execution stops at "
            f"{limits.HISTORY_LIMIT_EVENTS:,} ({estimate.budget:,} usable). "
            f"Step {step.name!r} alone may retry {estimate.per_step[worst]:,} times: raise "
            "retry.interval_seconds or backoff, shorten retry.timeout_seconds, or split the "
            "scenario"
        )
        loc: Loc = ("steps", worst, "retry") if step.retry is not None else ("steps",)
        problems.append((loc, message))
    return problems


def _params_problems(loc: Loc, spec: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Check ``with`` against the action's params model, ignoring templated values
    (their type is known only after rendering)."""
    name, params = spec.get("action"), spec.get("with", {})
    if not isinstance(name, str) or not _is_action(name) or not isinstance(params, dict):
        return []
    action = get_action(name)
    model: type[BaseModel] = action.params
    problems = []
    try:
        model.model_validate(params)
    except ValidationError as exc:
        problems = [
            ((*loc, "with", *where), message)
            for where, message in explain(exc, model)
            if not _templated(params, where)
        ]
    if action.check is not None:
        problems += [((*loc, "with", *where), message) for where, message in action.check(params)]
    return problems


def _templated(params: dict[str, Any], where: Loc) -> bool:
    """True when the value at ``where`` (or the string it lies in) holds a template."""
    if not where:
        return False
    current: Any = params
    for part in where:
        if isinstance(current, str):
            break
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return False
    return has_template(current)


def _template_problems(
    loc: Loc,
    value: Any,
    names: tuple[str, ...],
    secrets: dict[str, Any],
    earlier: list[str] | None = None,
) -> list[tuple[Loc, str]]:
    """Templates closed, expressions valid, names known (declared secrets only; in a
    step, ``steps.<name>`` of an earlier step only)."""
    problems = []
    for where, text in iter_strings(value):
        if where and where[-1] == "path" and loc[-1] in PATH_LISTS:
            continue  # `path` is JMESPath, checked by the model
        for message in template_problems(text):
            problems.append(((*loc, *where), message))
        for expr in find_templates(text):
            try:
                chains = name_chains(compile_path(expr).parsed)
            except JMESPathError:
                continue  # reported above
            for chain in chains:
                if chain[0] not in names:
                    problems.append(((*loc, *where), _unknown_root(expr, chain[0], names)))
                elif len(chain) > 1 and chain[0] == "secret" and chain[1] not in secrets:
                    declared = ", ".join(secrets) or "none"
                    message = (
                        f"{{{{ {expr} }}}}: secret {chain[1]!r} is not in 'secrets' ({declared})"
                    )
                    problems.append(((*loc, *where), message))
                elif _names_a_later_step(chain, earlier):
                    before = ", ".join(repr(n) for n in earlier) or "none"
                    message = (
                        f"{{{{ {expr} }}}}: no earlier step is named {chain[1]!r} "
                        f"(a step sees the steps before it: {before})"
                    )
                    problems.append(((*loc, *where), message))
    return problems


def _names_a_later_step(chain: list[str], earlier: list[str] | None) -> bool:
    """``steps.<name>`` in a step's templates, naming no step before it."""
    return earlier is not None and chain[:1] == ["steps"] and len(chain) > 1 and (
        chain[1] not in earlier
    )


def _unknown_root(expr: str, root: str, names: tuple[str, ...]) -> str:
    message = f"{{{{ {expr} }}}}: unknown name {root!r}; templates here can use {', '.join(names)}"
    close = difflib.get_close_matches(root, names, n=1)
    return message + (f" (did you mean {close[0]!r}?)" if close else "")


def parse_document(text: str, *, source: str) -> dict[str, Any]:
    """A file's top-level mapping (YAML or JSON) before validation, as
    :func:`load_scenario` reads it (the CLI reads fragment files with it).

    Raises:
        ScenarioError: not YAML/JSON, or not a mapping.
    """
    return _parse(text, source)
