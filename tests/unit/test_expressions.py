"""Templates and JMESPath: types kept, names checked, nothing rendered silently empty."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itest.lambdas.errors import TemplateError
from itest.lambdas.expressions import render, render_vars, search, template_problems
from jmespath.exceptions import JMESPathError

CONTEXT = {
    "run_id": "r-1",
    "vars": {"api": "http://h:1", "qty": 2, "tags": ["a", "b"], "none": None, "obj": {"k": 1}},
    "secret": {"token": "s3cr3t"},
    "steps": {"create order": {"captures": {"id": "o-1"}}},
    "now": "2026-01-01T00:00:00.000Z",
}


def test_search_selects_and_gives_none_for_missing_paths() -> None:
    data = {"json": {"items": [{"id": 1}, {"id": 2}]}, "headers": {"content-type": "x"}}
    assert search("json.items[1].id", data) == 2
    assert search('headers."content-type"', data) == "x"
    assert search("json.nope", data) is None
    with pytest.raises(JMESPathError):
        search("json.[", data)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ vars.qty }}", 2),
        ("{{vars.tags}}", ["a", "b"]),
        ("{{ vars.obj }}", {"k": 1}),
        ("{{ vars.none }}", None),
        ("{{ run_id }}", "r-1"),
        ('{{ steps."create order".captures.id }}', "o-1"),
        ("{{ vars.missing || 'fallback' }}", "fallback"),
        ("{{ length(vars.tags) }}", 2),
    ],
)
def test_a_lone_template_keeps_the_type(template: str, expected: object) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ vars.api }}/orders/{{ run_id }}", "http://h:1/orders/r-1"),
        ("qty={{ vars.qty }}", "qty=2"),
        ("tags={{ vars.tags }}", 'tags=["a","b"]'),
        ("Bearer {{ secret.token }}", "Bearer s3cr3t"),
        ("no templates }} here", "no templates }} here"),
    ],
)
def test_templates_inside_text_are_interpolated(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


def test_render_walks_dicts_and_lists() -> None:
    value = {"url": "{{ vars.api }}/x", "json": {"qty": "{{ vars.qty }}", "l": ["{{ run_id }}", 3]}}
    assert render(value, CONTEXT) == {"url": "http://h:1/x", "json": {"qty": 2, "l": ["r-1", 3]}}


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ vars.api_url }}", "unknown name 'vars.api_url'"),
        ("x/{{ vars.api_url }}", "vars has: api, none, obj, qty, tags"),
        ("{{ nope.x }}", "unknown name 'nope'"),
        ('{{ steps."other".captures }}', "unknown name 'steps.other'"),
        ("{{ vars.tags[0].x.y }}", None),
        ("id-{{ vars.none }}", "is null"),
        ("{{ vars.x", "not closed"),
        ("{{ vars.[ }}", "invalid expression"),
        ("{{ length(vars.qty) }}", "failed"),
        ("{{ length(vars.item) }}", "unknown name 'vars.item'"),
        ("{{ join(',', vars.tag) }}", "(did you mean 'tags'?)"),
        ("{{ [vars.api, vars.apii] }}", "unknown name 'vars.apii'"),
        ("{{ vars.qty > vars.max }}", "unknown name 'vars.max'"),
        ("{{ vars.tag[*].x }}", "unknown name 'vars.tag'"),
        ("{{ vars.missing || vars.gone }}", "unknown name 'vars.gone'"),
    ],
)
def test_render_errors_name_the_problem(template: str, fragment: str | None) -> None:
    if fragment is None:  # a path below an existing value may be null: JMESPath semantics
        assert render(template, CONTEXT) is None
        return
    with pytest.raises(TemplateError) as caught:
        render(template, CONTEXT)
    assert fragment in str(caught.value)


def test_template_problems_report_syntax_only() -> None:
    assert template_problems("{{ vars.x }} and {{ anything.at.all }}") == []
    assert template_problems("{{ a }} {{ b") == ["a '{{' is not closed by '}}'"]
    assert "invalid expression" in template_problems("{{ a[ }}")[0]


def test_vars_render_in_order_and_overrides_win() -> None:
    definitions = {
        "api": "{{ vars.api_url }}",
        "order_id": "itest-{{ run_id }}",
        "url": "{{ vars.api }}/orders/{{ vars.order_id }}",
        "region": "eu-west-1",
    }
    rendered = render_vars(
        definitions, {"api_url": "http://h", "region": "us-east-1"}, run_id="r", now="t"
    )
    assert rendered == {
        "api_url": "http://h",
        "region": "us-east-1",
        "api": "http://h",
        "order_id": "itest-r",
        "url": "http://h/orders/itest-r",
    }


def test_a_var_cannot_use_a_later_one() -> None:
    with pytest.raises(TemplateError, match=r"unknown name 'vars\.b'"):
        render_vars({"a": "{{ vars.b }}", "b": "1"}, {}, run_id="r", now="t")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text().filter(lambda s: "{{" not in s),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_values_without_templates_render_unchanged(value: object) -> None:
    assert render(value, CONTEXT) == value


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ vars.missing || 'default' }}", "default"),
        ("{{ not_null(vars.missing, vars.qty) }}", 2),
        ("{{ vars.tags[?@ == 'a'] }}", ["a"]),  # names inside a filter are the elements'
        ("{{ {q: vars.qty} }}", {"q": 2}),
    ],
)
def test_fallbacks_and_element_names_are_not_unknown_names(template: str, expected: object) -> None:
    assert render(template, CONTEXT) == expected
