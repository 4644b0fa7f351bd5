"""The scenario's models: what each part of a file may hold, and its own checks.

Checks spanning parts live in ``checks``; the engine's limits in ``limits``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from itest.lambdas.actions.listener import LISTENER_NAME
from itest.lambdas.actions.registry import ACTIONS, find_action, get_action, known_names
from itest.lambdas.errors import UnknownActionError
from itest.lambdas.expressions import (
    compile_path,
    find_templates,
    has_template,
    iter_strings,
    name_chains,
)
from itest.lambdas.scenario.expectation import Expectation, JmesPath, compiles
from itest.lambdas.validation import IDENTIFIER, Strict
from jmespath.exceptions import JMESPathError
from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

NAME = r"^[a-z0-9-]+$"
SECRET_SPEC = re.compile(r"(ssm|secretsmanager):\S+|arn:aws[a-z-]*:(ssm|secretsmanager):\S+")


def _known_action(name: str) -> str:
    try:
        get_action(name)
    except UnknownActionError as exc:
        if exc.why:
            raise ValueError(str(exc)) from None
        message = f"unknown action {name!r}"
        close = difflib.get_close_matches(name, list(ACTIONS), n=1)
        if not close and find_action(f"aws.{name}"):
            close = [f"aws.{name}"]
        if close:
            message += f" (did you mean {close[0]!r}?)"
        raise ValueError(f"{message}; known actions: {', '.join(known_names())}") from None
    return name


def _identifiers(names: Mapping[str, Any]) -> Mapping[str, Any]:
    bad = [name for name in names if not IDENTIFIER.fullmatch(name)]
    if bad:
        raise ValueError(
            f"names must be identifiers (letters, digits, _; not starting with a digit) "
            f"so templates can use them: {', '.join(map(repr, bad))}"
        )
    return names


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
    return {"path": compiles(value)} if isinstance(value, str) else value


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
    _read_by: dict[int, list[int] | None] = PrivateAttr(default_factory=dict)
    """:meth:`steps_read_by`'s answers (a scenario is kept per container: every
    attempt of every step asks)."""

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
        if index not in self._read_by:
            self._read_by[index] = self._named_steps(index)
        return self._read_by[index]

    def _named_steps(self, index: int) -> list[int] | None:
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

