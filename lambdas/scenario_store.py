"""Scenarios uploaded by the CLI, read from S3, pinned per run and kept per container.

A key may be a label the CLI overwrites (``itest upload --label release``), so
Prepare pins the object it validated: its S3 version id (the bucket keeps
versions), or the content's sha256 where a bucket keeps none. Every later state
reads that exact object; a pinned object never changes, so it is cached.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any, Literal, NotRequired, TypedDict

from itest.lambdas.aws import client, engine_errors
from itest.lambdas.bucket_layout import SCENARIOS_PREFIX
from itest.lambdas.errors import StateError
from itest.lambdas.scenario.loading import load_accepted, load_scenario
from itest.lambdas.scenario.models import Scenario

_cache: dict[tuple[str, str, str], Scenario] = {}
_KEY = re.compile(rf"^{SCENARIOS_PREFIX}(?P<name>[a-z0-9-]+)/[^/]+$")


def scenario_key(name: str, label: str) -> str:
    """Where a scenario is uploaded: ``scenarios/<name>/<label>.json`` (the label: a
    name a pipeline gives, else the content's sha256)."""
    return f"{SCENARIOS_PREFIX}{name}/{label}.json"


def scenario_name(key: str) -> str | None:
    """The scenario name in a key :func:`scenario_key` made; None for any other key."""
    match = _KEY.match(key)
    return match.group("name") if match else None


Part = Literal["assertions", "cleanup"]


class ScenarioRef(TypedDict):
    bucket: str
    key: str
    version: NotRequired[str]  # the S3 VersionId Prepare read
    sha256: NotRequired[str]  # the content Prepare read, where the bucket keeps no versions
    without: NotRequired[list[Part]]  # what the pinned object has none of (:func:`without`)


def without(scenario: Scenario) -> list[Part]:
    """What ``scenario`` has nothing of, so that a later state need not read it:
    ``assertions`` (Assert writes a passed record), ``cleanup`` (no cleanup of a step
    or of the scenario, no listener, no secret: Cleanup settles the run from its record)."""
    parts: list[Part] = []
    if not scenario.assertions:
        parts.append("assertions")
    cleanups = scenario.cleanup or any(step.cleanup for step in scenario.steps)
    if not (cleanups or scenario.listeners or scenario.secrets):
        parts.append("cleanup")
    return parts


def has_nothing_for(ref: ScenarioRef, part: Part) -> bool:
    """Whether Prepare found nothing of ``part`` in the object ``ref`` pins."""
    return part in ref.get("without", ())


def scenario_ref(raw: Any) -> ScenarioRef:
    """``{"bucket", "key"}`` (and the pin, if any) from a payload; bucket defaults to
    ``SCENARIO_BUCKET``.

    Raises:
        StateError: no key, or no bucket anywhere.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
        raise StateError(f'expected "scenario": {{"bucket": ..., "key": ...}}, got {raw!r}')
    bucket = raw.get("bucket") or os.environ.get("SCENARIO_BUCKET")
    if not bucket:
        raise StateError("the scenario reference names no bucket and SCENARIO_BUCKET is not set")
    ref: ScenarioRef = {"bucket": bucket, "key": raw["key"]}
    for pin in ("version", "sha256"):
        if isinstance(raw.get(pin), str):
            ref[pin] = raw[pin]  # type: ignore[literal-required]
    if ("version" in ref or "sha256" in ref) and isinstance(raw.get("without"), list):
        ref["without"] = [p for p in raw["without"] if p in ("assertions", "cleanup")]
    return ref


def pin(ref: ScenarioRef) -> tuple[Scenario, ScenarioRef]:
    """Read the object now (Prepare) and return it with a reference to exactly it
    (and to what it has none of: :func:`without`).

    Raises:
        StateError: the object cannot be read.
        ScenarioError: it is not a valid scenario.
    """
    body, version = _read({"bucket": ref["bucket"], "key": ref["key"]})
    pinned: ScenarioRef = {"bucket": ref["bucket"], "key": ref["key"]}
    if version:
        pinned["version"] = version
    else:
        pinned["sha256"] = hashlib.sha256(body).hexdigest()
    scenario = load_scenario(body.decode("utf-8", errors="replace"), source=_source(ref))
    _cache[_cache_key(pinned)] = scenario
    if parts := without(scenario):
        pinned["without"] = parts
    return scenario, pinned


def load(ref: ScenarioRef) -> Scenario:
    """The validated scenario ``ref`` pins (read once per container, and not checked
    again: Prepare checked that very object); an unpinned reference is read and
    checked afresh every time.

    Raises:
        StateError: the object cannot be read, or it is no longer the one pinned.
        ScenarioError: it is not a valid scenario.
    """
    key = _cache_key(ref)
    if key[2] and key in _cache:
        return _cache[key]
    body, _ = _read(ref)
    if "sha256" in ref and hashlib.sha256(body).hexdigest() != ref["sha256"]:
        raise StateError(
            f"{_source(ref)} changed since this execution started (uploaded again under "
            "the same label?); an execution runs the scenario it started with: start a new one"
        )
    text, source = body.decode("utf-8", errors="replace"), _source(ref)
    if not key[2]:
        return load_scenario(text, source=source)
    scenario = _cache[key] = load_accepted(text, source=source)
    return scenario


def _cache_key(ref: ScenarioRef) -> tuple[str, str, str]:
    return ref["bucket"], ref["key"], ref.get("version") or ref.get("sha256") or ""


def _source(ref: ScenarioRef) -> str:
    return f"s3://{ref['bucket']}/{ref['key']}"


def _read(ref: ScenarioRef) -> tuple[bytes, str | None]:
    """The object's bytes and version id (None: the bucket keeps no versions)."""
    from botocore.exceptions import BotoCoreError, ClientError

    extra = {"VersionId": ref["version"]} if "version" in ref else {}
    try:
        with engine_errors(f"reading {_source(ref)}"):
            response = client("s3").get_object(Bucket=ref["bucket"], Key=ref["key"], **extra)
            body = response["Body"].read()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise StateError(
            f"cannot read {_source(ref)}: {error.get('Code')}: {error.get('Message')}"
        ) from exc
    except BotoCoreError as exc:
        raise StateError(f"cannot read {_source(ref)}: {exc}") from exc
    version = response.get("VersionId")
    return body, version if version and version != "null" else None

