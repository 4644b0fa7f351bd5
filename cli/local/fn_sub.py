"""CloudFormation's Fn::Sub as the local deploy resolves it: one definition for
deploy.py's Resolver and direct_stack.py's private stack."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def fn_sub(
    value: str | list[Any],
    resolve: Callable[[Any], Any],
    ref: Callable[[str], Any],
    get_att: Callable[[str, str], Any],
) -> str:
    """An Fn::Sub's text with ${Name} (its variables, else `ref`), ${Resource.Attribute}
    (`get_att`) and ${!Literal} replaced; `resolve` resolves the variables' values."""
    text, variables = (value, {}) if isinstance(value, str) else value
    resolved = {k: str(resolve(v)) for k, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in resolved:
            return resolved[name]
        if "." in name:
            return str(get_att(*name.split(".", 1)))
        return str(ref(name))

    return re.sub(r"\$\{([^}]+)\}", replace, text)
