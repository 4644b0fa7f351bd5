"""Mask first, cut later (lambdas/masking.py): every form of a secret, every cut."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from itest.lambdas import masking
from itest.lambdas.matchers import cut, show

TOKEN = "tok-" + "A1b2C3d4" * 25  # 204 characters
PASSWORD = "p'a\"ss wörd/+=&?"


@pytest.fixture(autouse=True)
def secrets():
    masking.forget()
    masking.remember([TOKEN, PASSWORD, 482913])
    yield
    masking.forget()


def windows(secret: str, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def leaks(text: str) -> list[str]:
    return [w for s in (TOKEN, PASSWORD) for w in windows(s) if w in text]


@pytest.mark.parametrize(
    "shown",
    [
        TOKEN,
        json.dumps({"token": TOKEN, "pw": PASSWORD}),
        json.dumps(PASSWORD, ensure_ascii=True),
        repr(PASSWORD),
        repr(f'"{PASSWORD}'),
        quote(PASSWORD, safe=""),
        "Basic " + base64.b64encode(f"bob:{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode(f"al:{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(),
        base64.urlsafe_b64encode(f"x{TOKEN}".encode()).decode(),
    ],
)
def test_every_form_is_masked(shown: str) -> None:
    masked = masking.mask(shown)
    assert masking.MASK in masked
    assert not leaks(masked)
    for alignment in range(3):
        prefix = "x" * alignment
        encoded = base64.b64encode(f"{prefix}{PASSWORD}".encode()).decode()
        # the characters that only the secret decides are gone
        assert not any(w in masking.mask(encoded) for w in windows(encoded[3:-3]))


def test_a_number_equal_to_a_secret_is_masked_in_values_and_text() -> None:
    assert masking.mask({"pin": 482913, "n": 4829130}) == {"pin": "***", "n": 4829130}
    assert masking.mask('{"pin": 482913}') == '{"pin": ***}'


def test_a_cut_masks_first_and_never_ends_inside_a_secret() -> None:
    shown = show({"token": TOKEN})
    assert "***" in shown and not leaks(shown)
    assert not leaks(str(cut("x" * 990 + TOKEN)))
    masking.forget()
    text = "id=" + TOKEN[:50]  # the beginning of a secret the mask cannot know yet
    masking.remember([TOKEN])
    assert masking.clip(text + "y" * 100, 40) == "id=…"


def test_a_json_secret_masks_its_fields_too() -> None:
    masking.remember(['{"username": "svc-user", "password": "hunter22", "port": 5432}'])
    assert masking.mask("login svc-user hunter22 on 5432") == "login *** *** on ***"


def test_nothing_is_masked_without_secrets() -> None:
    masking.forget()
    assert masking.mask({"a": 482913}) == {"a": 482913}
    assert masking.clip("abcdef", 4) == "abc…"


def test_any_escaping_leaves_no_run_of_a_punctuated_secret() -> None:
    import html

    secret = "q'Abcdefgh12\"Ijklmnop34\\z"
    masking.remember([secret])
    for shown in (json.dumps(json.dumps({"q": secret})), html.escape(secret)):
        masked = masking.mask(shown)
        assert "Abcdefgh12" not in masked and "Ijklmnop34" not in masked, masked


def test_pattern_errors_mask_before_they_cut() -> None:
    from itest.lambdas.event_patterns import EVENTBRIDGE_OPERATORS, pattern_problems
    from itest.lambdas.log_patterns import PatternError, compile_json_pattern

    masking.remember([TOKEN])
    pattern = {"detail": {"token": [{"numeric": TOKEN}]}}
    problems = pattern_problems(pattern, operators=EVENTBRIDGE_OPERATORS)
    assert problems and not leaks(str(problems)), problems
    for pattern in (f"{{ $.token = {TOKEN} ", f"{{ $.a = 1 }} {TOKEN}"):
        with pytest.raises(PatternError) as raised:
            compile_json_pattern(pattern)
        assert not leaks(str(raised.value)), raised.value
