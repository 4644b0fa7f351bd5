"""``{path: <jmespath>, <matcher>: <value>, ...}``: the model of one expectation.

Its matcher fields come from the matcher registry (lambdas/matchers.py), the
one list of matchers: a matcher registered there is a key scenarios may use.
"""

from __future__ import annotations

from typing import Annotated, Any

from itest.lambdas.expressions import compile_path, describe_error
from itest.lambdas.matchers import MATCHERS
from itest.lambdas.validation import Strict
from jmespath.exceptions import JMESPathError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator


def compiles(path: str) -> str:
    """A JMESPath expression that compiles (raises ValueError saying why not)."""
    try:
        compile_path(path)
    except JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression {path!r}: {describe_error(exc)}") from None
    return path


JmesPath = Annotated[str, AfterValidator(compiles)]


def field_name(matcher: str) -> str:
    """The model's field of a matcher (``schema`` would shadow pydantic's own)."""
    return f"{matcher}_" if hasattr(BaseModel, matcher) else matcher


class ExpectationBase(Strict):
    """``{path: <jmespath>, <matcher>: <value>, ...}``: every matcher given must hold."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 2})

    path: JmesPath = Field(description="JMESPath over the action's result ('@' for all of it)")

    @model_validator(mode="after")
    def _some_matcher(self) -> ExpectationBase:
        given = self.matchers()
        if not given:
            names = ", ".join(MATCHERS)
            raise ValueError(f"expectation on {self.path!r} has no matcher; add one of: {names}")
        nulls = [name for name in given if MATCHERS[name].needs_value and given[name] is None]
        if nulls:
            raise ValueError(f"matcher {nulls[0]!r} needs a value, not null")
        return self

    def matchers(self) -> dict[str, Any]:
        """The matchers given, by scenario name, with their expected values."""
        given = self.model_fields_set
        return {name: getattr(self, field) for name, field in _FIELDS if field in given}


def _field(name: str) -> tuple[Any, Any]:
    spec = MATCHERS[name]
    kind = Annotated[spec.expected, AfterValidator(spec.check)] if spec.check else spec.expected
    alias = name if field_name(name) != name else None
    return kind, Field(
        default=None, alias=alias, description=spec.description, json_schema_extra=spec.schema
    )


_FIELDS = [(name, field_name(name)) for name in MATCHERS]
"""Each matcher's name and its field, in the registry's order (asked at every check)."""

Expectation = create_model(  # type: ignore[call-overload]
    "Expectation",
    __base__=ExpectationBase,
    __module__=__name__,
    __doc__=ExpectationBase.__doc__,
    **{field: _field(name) for name, field in _FIELDS},
)
