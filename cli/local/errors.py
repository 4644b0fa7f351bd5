"""The local AWS's errors: one base, so that the CLI turns them into exit code 3 in one place.

Each message says what failed and why, on its own: the CLI shows it as it is.
"""

from __future__ import annotations


class LocalAwsError(RuntimeError):
    """Something the local AWS could not do; the message says what and why."""


class StartError(LocalAwsError):
    """The local AWS could not start in this process (port taken, one already running,
    a moto outside the tested versions, a bad ITEST_LAMBDA_* setting)."""


class DeployError(LocalAwsError):
    """The orchestrator (or an assembly) could not be synthesized or deployed locally."""


class BackgroundError(LocalAwsError):
    """The background local AWS could not be started or stopped."""
