"""Secrets from SSM and Secrets Manager, and masking."""

from __future__ import annotations

import pytest
from itest.lambdas import secrets
from itest.lambdas.aws import client
from itest.lambdas.errors import SecretError


def test_resolves_ssm_parameters_and_secrets_manager_secrets() -> None:
    client("ssm").put_parameter(Name="/orders/token", Value="ssm-value", Type="SecureString")
    arn = client("secretsmanager").create_secret(Name="orders/key", SecretString="sm-value")["ARN"]

    resolved = secrets.resolve(
        {"token": "ssm:/orders/token", "key": "secretsmanager:orders/key", "by_arn": arn}
    )

    assert resolved == {"token": "ssm-value", "key": "sm-value", "by_arn": "sm-value"}


def test_a_missing_secret_names_itself() -> None:
    with pytest.raises(SecretError) as caught:
        secrets.resolve({"token": "ssm:/nope"})
    assert str(caught.value).startswith("secret 'token' (ssm:/nope): ParameterNotFound")


def test_values_are_cached_per_container() -> None:
    client("ssm").put_parameter(Name="/p", Value="one", Type="String")
    assert secrets.resolve({"p": "ssm:/p"}) == {"p": "one"}
    client("ssm").put_parameter(Name="/p", Value="two", Type="String", Overwrite=True)
    assert secrets.resolve({"p": "ssm:/p"}) == {"p": "one"}


def test_mask_replaces_secret_values_everywhere() -> None:
    value = {
        "headers": {"authorization": "Bearer abc123"},
        "list": ["abc123", 1, None],
        "abc123": "k",
    }
    assert secrets.mask(value, ["abc123", ""]) == {
        "headers": {"authorization": "Bearer ***"},
        "list": ["***", 1, None],
        "***": "k",
    }
    assert secrets.mask("nothing secret", []) == "nothing secret"
