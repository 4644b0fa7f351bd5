"""The results table (docs/engine.md): one item per run, step, assert and cleanup,
and per message a listener captured.

The one owner of the table's key schema and of the record <-> item codec: the
handlers and the CLI read and write runs, steps and verdicts through this module
only, and the other modules of the package store their items through it.

It is also how step N sees the captures of steps < N, since Map iterations
cannot see each other: each passing step's captures are also kept on the run
record (``captures#NNNN``), so an attempt reads the run record and only the
step records it needs, whatever its index. Arbitrary JSON is stored as JSON
text (``*_json``, :mod:`~itest.lambdas.results.json_text`).
"""

from __future__ import annotations

import os
import time
from typing import Any

from itest.lambdas.aws import client, engine_errors
from itest.lambdas.errors import ConfigError, StateError
from itest.lambdas.masking import mask
from itest.lambdas.matchers import Mismatch
from itest.lambdas.results.copies import store_result
from itest.lambdas.results.json_text import dumps, loads
from itest.lambdas.results.records import (
    CleanupClaim,
    CleanupEntry,
    RunContext,
    RunProgress,
    RunRecord,
    RunSummary,
    StepProgress,
    StepRecord,
    never_ran,
    step_record,
)
from itest.lambdas.statuses import RunStatus, StepStatus
from itest.lambdas.timestamps import epoch

CAPTURE_LIMIT = 64 * 1024
"""The most a step may capture (the record must stay under DynamoDB's 400 KB item size)."""
CAPTURES_LIMIT = 256 * 1024
"""The most all steps of a run may capture together (kept on the run record)."""
CAPTURES_PREFIX = "captures#"
MISMATCH_LIMIT = 50
PARTITION_KEY = "pk"
"""The run id (a listener's messages: :func:`listener_pk`); infra/storage.py declares
the table with these two key attributes."""
SORT_KEY = "sk"
"""Which record of the run: :data:`RUN_SK`, ``step#NNNN``, :data:`ASSERT_SK`, :data:`CLEANUP_SK`."""
RUN_SK = "run"
ASSERT_SK = "assert"
CLEANUP_SK = "cleanup"
STEP_SK_PREFIX = "step#"
EXPIRES_AT = "expires_at"
"""Epoch seconds on every item of a run (``RESULTS_TTL_DAYS``): the table's TTL attribute."""


_STEP_JSON = {"captures": "captures_json", "result": "result_json", "mismatches": "mismatches_json"}
"""The step record's fields stored as JSON text, and their attribute names."""


def step_sk(index: int) -> str:
    return f"{STEP_SK_PREFIX}{index:04d}"


def step_index(sk: str) -> int:
    """The inverse of :func:`step_sk`."""
    return int(sk[len(STEP_SK_PREFIX) :])


def table_name() -> str:
    """Raises:
    ConfigError: ``RESULTS_TABLE`` is not set.
    """
    try:
        return os.environ["RESULTS_TABLE"]
    except KeyError:
        raise ConfigError("RESULTS_TABLE is not set; the handlers need the results table") from None


def expires_at(now: float | None = None) -> int | None:
    """Epoch seconds when a run's items expire (the table's TTL attribute), from
    ``RESULTS_TTL_DAYS``; None when unset or 0 (kept for ever)."""
    days = float(os.environ.get("RESULTS_TTL_DAYS") or 0)
    if days <= 0:
        return None
    return int((time.time() if now is None else now) + days * 86400)


def write_run(
    run_id: str,
    *,
    scenario: str,
    steps: list[str],
    vars: dict[str, Any],
    execution_arn: str | None,
    started_at: str,
    scenario_ref: dict[str, str] | None = None,
) -> None:
    """Start the run record (Prepare); ``scenario_ref`` (the pinned object) lets a
    cleanup started from outside the execution find what the run ran."""
    put_item(
        run_id,
        RUN_SK,
        scenario=scenario,
        status=RunStatus.RUNNING,
        steps_json=dumps(steps),
        vars_json=dumps(vars),
        started_at=started_at,
        execution_arn=execution_arn,
        scenario_ref_json=dumps(scenario_ref) if scenario_ref else None,
    )


def finish_run(
    run_id: str,
    *,
    scenario: str | None,
    status: str,
    reason: str | None,
    ended_at: str,
    steps: list[str] | None = None,
) -> bool:
    """Set the final status (Cleanup); creates the record if Prepare never wrote it
    (then ``scenario`` and ``steps`` fill in what Prepare would have). The first
    verdict stays: False when the run was settled already (by another invocation)."""
    from botocore.exceptions import ClientError

    values = {
        ":status": status,
        ":ended": ended_at,
        ":reason": reason,
        ":scenario": scenario,
        ":steps": None if steps is None else dumps(steps),
        ":expires": expires_at(),
    }
    sets = ["#status = :status", "ended_at = :ended"]
    if values[":expires"] is not None:
        sets.append(f"{EXPIRES_AT} = if_not_exists({EXPIRES_AT}, :expires)")
    if reason is not None:
        sets.append("reason = :reason")
    if scenario is not None:
        sets.append("scenario = if_not_exists(scenario, :scenario)")
    if steps is not None:
        sets.append("steps_json = if_not_exists(steps_json, :steps)")
    values[":running"] = RunStatus.RUNNING
    try:
        with engine_errors("finishing the run record"):
            client("dynamodb").update_item(
                TableName=table_name(),
                Key=_key(run_id, RUN_SK),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_not_exists(#status) OR #status = :running",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    k: _encode(v) for k, v in values.items() if v is not None
                },
            )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return False
    return True


def write_step(run_id: str, record: StepRecord, *, attempt_started: int | None = None) -> None:
    """Write (overwrite) a step's record: every attempt replaces the previous one
    (``attempt_started``: the attempt claimed with :func:`claim_attempt`, kept).

    A result over :data:`RESULT_LIMIT` is kept whole in the bucket (``result_ref``)
    and summarized in the record.
    """
    result_json, result_ref = store_result(run_id, record["index"], record["result"])
    stored: StepRecord = {
        **record,
        "mismatches": record["mismatches"][:MISMATCH_LIMIT],
        "result_ref": result_ref,
    }
    attributes = _step_attributes(stored, result_json=result_json)
    put_item(run_id, step_sk(record["index"]), **attributes, attempt_started=attempt_started)


def claim_attempt(
    run_id: str, *, index: int, name: str, action: str, attempt: int, started_at: str
) -> StepRecord | None:
    """Record attempt ``attempt`` of a step as started, before its action runs, so a
    crash mid-action still leaves a record (and the step's cleanup runs).

    Returns None when the claim is new; the step's record when this attempt (or a
    later one) was claimed already: a redelivered event, whose action must not run twice.
    """
    from botocore.exceptions import ClientError

    sk = step_sk(index)
    claim = {"status": StepStatus.RUNNING, "attempt_started": attempt, "index": index,
             "name": name, "action": action, "started_at": started_at, "attempts": 0}  # fmt: skip
    condition = {
        "ConditionExpression": (
            "attribute_not_exists(#attempt_started) OR #attempt_started < :attempt_started"
        ),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",  # a redelivery reads no more
    }
    try:
        with engine_errors("recording a step as started"):
            if attempt == 1:  # a new record (a PutItem costs the local AWS a third of an update)
                client("dynamodb").put_item(
                    TableName=table_name(), Item=_item(run_id, sk, **claim), **condition,
                    ExpressionAttributeNames={"#attempt_started": "attempt_started"},
                    ExpressionAttributeValues={":attempt_started": _encode(attempt)},
                )  # fmt: skip
            else:
                _claim_again(run_id, sk, claim, condition)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        if (found := exc.response.get("Item")) is None:
            with engine_errors("reading a step record"):
                found = client("dynamodb").get_item(
                    TableName=table_name(), Key=_key(run_id, sk), ConsistentRead=True
                )["Item"]
        return _step(_decode_item(found))
    return None


def _claim_again(run_id: str, sk: str, claim: dict[str, Any], condition: dict[str, str]) -> None:
    """Claim a later attempt: the previous attempt's outcome stays beside the claim."""
    values = {f":{name}": value for name, value in claim.items()}
    kept = ("started_at", "attempts")  # the first attempt's start; attempts finished
    sets = [f"#{n} = if_not_exists(#{n}, :{n})" if n in kept else f"#{n} = :{n}" for n in claim]
    names = {f"#{name}": name for name in claim}
    if (expires := expires_at()) is not None:
        values[":expires"] = expires
        sets.append(f"{EXPIRES_AT} = :expires")
    client("dynamodb").update_item(
        TableName=table_name(),
        Key=_key(run_id, sk),
        UpdateExpression="SET " + ", ".join(sets),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={k: _encode(v) for k, v in values.items()},
        **condition,
    )


def write_assert(
    run_id: str, *, status: str, mismatches: list[Mismatch], error: str | None = None
) -> None:
    put_item(
        run_id,
        ASSERT_SK,
        status=status,
        mismatches_json=dumps(mismatches[:MISMATCH_LIMIT]),
        error=error,
    )


def write_cleanup(run_id: str, *, status: str, actions: list[CleanupEntry]) -> None:
    put_item(run_id, CLEANUP_SK, status=status, actions_json=dumps(actions))


def listener_pk(run_id: str, listener: str) -> str:
    """A listener's messages live apart from the run's items: reading a run never grows
    with them."""
    return f"{run_id}#listener#{listener}"


def claim_cleanup(run_id: str, *, owner: str, now: float, lease_until: float) -> CleanupClaim:
    """Take the run's cleanup for this invocation until ``lease_until`` (epoch s):
    granted when nobody has it, or when the last holder's lease ran out while it was
    still ``running`` (that invocation died). A finished cleanup is never taken again.
    """
    from botocore.exceptions import ClientError

    values = {":running": StepStatus.RUNNING, ":owner": owner, ":now": now, ":lease": lease_until}
    try:
        with engine_errors("claiming the run's cleanup"):
            item = client("dynamodb").update_item(
                TableName=table_name(),
                Key=_key(run_id, CLEANUP_SK),
                UpdateExpression="SET #status = :running, #owner = :owner, lease_until = :lease",
                ConditionExpression=f"attribute_not_exists({SORT_KEY}) OR "
                "(#status = :running AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status", "#owner": "owner"},
                ExpressionAttributeValues={k: _encode(v) for k, v in values.items()},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        claimed = True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        with engine_errors("reading the run's cleanup"):
            item = client("dynamodb").get_item(
                TableName=table_name(), Key=_key(run_id, CLEANUP_SK), ConsistentRead=True
            ).get("Item", {})
        claimed = False
    found = _decode_item(item)
    return {
        "claimed": claimed,
        "status": found.get("status", StepStatus.RUNNING),
        "actions": loads(found.get("actions_json"), []),
        "current": found.get("current"),
        "lease_until": float(found.get("lease_until", 0)),
    }


def cleanup_progress(
    run_id: str, *, owner: str, actions: list[CleanupEntry], current: str | None
) -> None:
    """Record the finished cleanup actions and the one about to run (while holding the
    claim), so that an invocation taking over runs none of them twice."""
    values: dict[str, Any] = {":owner": owner, ":actions": dumps(actions)}
    if current is None:
        update = "SET actions_json = :actions REMOVE #current"
    else:
        values[":current"] = current
        update = "SET actions_json = :actions, #current = :current"
    _update_claimed(run_id, owner, update, values, "recording cleanup progress")


def cleanup_lease(run_id: str, *, owner: str, lease_until: float) -> None:
    """Move the end of the claim's lease (0: give it up)."""
    values = {":owner": owner, ":lease": lease_until}
    _update_claimed(run_id, owner, "SET lease_until = :lease", values, "releasing the cleanup")


def _update_claimed(
    run_id: str, owner: str, update: str, values: dict[str, Any], what: str
) -> None:
    names = {"#owner": "owner"} | ({"#current": "current"} if "#current" in update else {})
    with engine_errors(what):
        client("dynamodb").update_item(
            TableName=table_name(),
            Key=_key(run_id, CLEANUP_SK),
            UpdateExpression=update,
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={k: _encode(v) for k, v in values.items()},
        )


def remember_captures(run_id: str, index: int, captures: dict[str, Any]) -> None:
    """Keep a passed step's captures on the run record, where later steps read them."""
    with engine_errors("keeping a step's captures"):
        client("dynamodb").update_item(
            TableName=table_name(),
            Key=_key(run_id, RUN_SK),
            UpdateExpression="SET #captures = :captures",
            ExpressionAttributeNames={"#captures": f"{CAPTURES_PREFIX}{index:04d}"},
            ExpressionAttributeValues={":captures": {"S": dumps(captures)}},
        )


def read_context(
    run_id: str, *, below: int | None = None, steps: list[int] | None = None
) -> RunContext:
    """Vars (run vars, then the captures of each passed step in order) and the records
    of earlier steps.

    With ``below`` (an Action attempt): vars from the run record alone (it keeps the
    captures), and the records of the steps listed in ``steps``, read with it in one
    BatchGetItem whatever the index. With ``steps`` None (a template uses ``steps`` as a
    whole), every record below ``below`` from a query of the run. Without ``below``
    (Assert): everything, from one query.

    Raises:
        StateError: there is no run record (Prepare did not run for this id).
        TransientError: the table could not be reached.
    """
    if below is not None and steps is not None:
        items = _batch_get(run_id, [RUN_SK, *(step_sk(i) for i in steps if i < below)])
    else:
        items = read_items(run_id)
    run = items.get(RUN_SK)
    records = [r for r in _steps(items) if below is None or r["index"] < below]
    if run is None:
        raise StateError(f"no run record for {run_id!r}; Prepare has not run for it")
    context = _context(loads(run.get("vars_json"), {}), records, run.get("started_at"))
    if below is not None:
        kept = sorted(
            (int(name[len(CAPTURES_PREFIX) :]), text)
            for name, text in run.items()
            if name.startswith(CAPTURES_PREFIX)
        )
        context["vars"] = loads(run.get("vars_json"), {})
        for index, text in kept:
            if index < below:
                context["vars"].update(loads(text, {}))
        context["captured_bytes"] = sum(len(text.encode()) for _, text in kept)
    context["run_status"] = run.get("status", RunStatus.RUNNING)
    return context


def context_of(run: RunRecord) -> RunContext:
    """What :func:`read_context` gives for all steps, from a run already read."""
    ran = [r for r in run["steps"] if not never_ran(r)]
    context = _context(dict(run["vars"]), ran, run["started_at"])
    context["run_status"] = run["status"]
    return context


def read_run(run_id: str, *, table: str | None = None, dynamodb: Any = None) -> RunRecord | None:
    """The whole run for the CLI, or None when there is no record of it.

    The CLI passes the table (from the stack outputs) and a client of its own
    session; the handlers use ``RESULTS_TABLE`` and the shared client.
    """
    return _run_record(run_id, read_items(run_id, table=table, dynamodb=dynamodb))


def read_runs(runs: dict[str, int], *, table: str, dynamodb: Any) -> dict[str, RunRecord | None]:
    """Whole runs for the CLI by run id (None: no record of it), given each one's
    number of steps: their items read by key, one BatchGetItem per 100 items for
    all of them, where :func:`read_run` is a Query per run.

    Raises:
        TransientError: DynamoDB throttled (or failed for a moment).
    """
    fixed = (RUN_SK, ASSERT_SK, CLEANUP_SK)
    keys = [(run_id, sk) for run_id, steps in runs.items()
            for sk in (*fixed, *map(step_sk, range(steps)))]  # fmt: skip
    with engine_errors("reading the results table"):
        items = _batch_items(keys, table=table, dynamodb=dynamodb, ConsistentRead=True)
    return {run_id: _run_record(run_id, items.get(run_id, {})) for run_id in runs}


def _run_record(run_id: str, items: dict[str, dict[str, Any]]) -> RunRecord | None:
    """The run as the CLI reports it, from its items by sort key (None: no run record)."""
    run = items.get(RUN_SK)
    if run is None:
        return None
    recorded = {r["index"]: r for r in _steps(items)}
    names = loads(run.get("steps_json"), None) or run.get("steps") or []  # older records: a list
    steps = [
        recorded.get(i) or step_record(i, name, StepStatus.SKIPPED) for i, name in enumerate(names)
    ]
    steps += [r for i, r in sorted(recorded.items()) if i >= len(names)]
    assertions = items.get(ASSERT_SK)
    cleanup = items.get(CLEANUP_SK)
    return {
        "run_id": run_id,
        "scenario": run.get("scenario"),
        "status": run.get("status", RunStatus.RUNNING),
        "reason": run.get("reason"),
        "started_at": run.get("started_at"),
        "ended_at": run.get("ended_at"),
        "execution_arn": run.get("execution_arn"),
        "vars": loads(run.get("vars_json"), {}),
        "steps": steps,
        "assertions": {
            "status": assertions["status"],
            "mismatches": loads(assertions.get("mismatches_json"), []),
            "error": assertions.get("error"),
        }
        if assertions
        else None,
        "cleanup": {
            "status": cleanup["status"],
            "actions": loads(cleanup.get("actions_json"), []),
        }
        if cleanup
        else None,
        "scenario_ref": loads(run.get("scenario_ref_json"), None),
    }


def read_progress(run_id: str, *, table: str, dynamodb: Any) -> RunProgress:
    """The run record's status and the newest step record (for the CLI, polling: a
    throttle reaches the caller as the client raised it)."""
    run = dynamodb.get_item(
        TableName=table, Key=_key(run_id, RUN_SK), ConsistentRead=True,
        ProjectionExpression="#status", ExpressionAttributeNames={"#status": "status"},
    ).get("Item", {})  # fmt: skip
    step = _newest(run_id, f"begins_with({SORT_KEY}, :sk)", STEP_SK_PREFIX, table, dynamodb)
    return {"status": _decode_item(run).get("status"), "step": _progress_of(step) if step else None}


def _newest(
    run_id: str, condition: str, sk: str, table: str, dynamodb: Any
) -> dict[str, Any] | None:
    """The run's item with the greatest sort key that `condition` on `:sk` admits
    (its sort key, status, name and attempts), decoded; None when there is none."""
    newest = dynamodb.query(
        TableName=table,
        KeyConditionExpression=f"{PARTITION_KEY} = :pk AND {condition}",
        ExpressionAttributeValues={":pk": {"S": run_id}, ":sk": {"S": sk}},
        ProjectionExpression=f"{SORT_KEY}, #status, #name, attempts",
        ExpressionAttributeNames={"#status": "status", "#name": "name"},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    ).get("Items", [])
    return _decode_item(newest[0]) if newest else None


def _progress_of(step: dict[str, Any]) -> StepProgress:
    """How far a step is, from its decoded record (sort key, status, name, attempts)."""
    return {
        "index": step_index(step[SORT_KEY]),
        "name": step.get("name"),
        "status": step.get("status"),
        "attempts": step.get("attempts", 0),
    }


def read_newest(run_id: str, *, table: str, dynamodb: Any) -> RunProgress:
    """The newest step record, or the run record while no step has one: one Query
    (the run record sorts just before the steps). For a CLI that learns the run's end
    otherwise (a local AWS's listing): once a step is recorded, the run's status is
    not read and is given as running."""
    item = _newest(run_id, f"{SORT_KEY} >= :sk", RUN_SK, table, dynamodb) or {}
    if item.get(SORT_KEY, RUN_SK) == RUN_SK:
        return {"status": item.get("status"), "step": None}
    return {"status": RunStatus.RUNNING, "step": _progress_of(item)}


def read_summaries(run_ids: list[str], *, table: str, dynamodb: Any) -> dict[str, RunSummary]:
    """Scenario, status and reason of each run that has a run record, by run id, in
    one BatchGetItem per 100 (for the CLI's list of executions)."""
    found = _batch_items(
        [(run_id, RUN_SK) for run_id in run_ids], table=table, dynamodb=dynamodb,
        ProjectionExpression=f"{PARTITION_KEY}, {SORT_KEY}, scenario, #status, reason",
        ExpressionAttributeNames={"#status": "status"},
    )  # fmt: skip
    summaries: dict[str, RunSummary] = {}
    for run_id, items in found.items():
        run = items[RUN_SK]
        summaries[run_id] = {
            "scenario": run.get("scenario"),
            "status": run.get("status"),
            "reason": run.get("reason"),
        }
    return summaries


def _context(
    vars: dict[str, Any],
    records: list[StepRecord],
    started_at: str | None,
) -> RunContext:
    steps: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: r["index"]):
        vars.update(record["captures"])
        steps[record["name"]] = {
            "status": record["status"],
            "captures": record["captures"],
            "result": record["result"],
            "error": record["error"],
        }
    started = epoch(started_at) if started_at else None
    return {"vars": vars, "steps": steps, "started_at": started, "captured_bytes": 0}


def _steps(items: dict[str, dict[str, Any]]) -> list[StepRecord]:
    return [_step(item) for sk, item in sorted(items.items()) if sk.startswith(STEP_SK_PREFIX)]


def _step_attributes(record: StepRecord, *, result_json: str) -> dict[str, Any]:
    """A step record as the item's attributes (None: not written); ``result_json``:
    the result as stored (:func:`store_result`)."""
    attributes = {
        _STEP_JSON.get(name, name): dumps(value) if name in _STEP_JSON else value
        for name, value in record.items()
        if name != "result"
    }
    return attributes | {_STEP_JSON["result"]: result_json}


def _step(item: dict[str, Any]) -> StepRecord:
    """The inverse of :func:`_step_attributes`, from a decoded item."""
    blank = step_record(item["index"], item["name"], item["status"])
    fields = {name: item.get(name, default) for name, default in blank.items()}
    for name, attribute in _STEP_JSON.items():
        fields[name] = loads(item.get(attribute), blank[name])  # type: ignore[literal-required]
    return fields  # type: ignore[return-value]


def read_items(
    pk: str, *, table: str | None = None, dynamodb: Any = None
) -> dict[str, dict[str, Any]]:
    """Every item of a partition (a run, or a listener's :func:`listener_pk`) by sort
    key, decoded (consistent: the previous state just wrote)."""
    paginator = (dynamodb or client("dynamodb")).get_paginator("query")
    pages = paginator.paginate(
        TableName=table or table_name(),
        KeyConditionExpression=f"{PARTITION_KEY} = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    with engine_errors("reading the results table"):
        items = [_decode_item(item) for page in pages for item in page.get("Items", [])]
    return {item[SORT_KEY]: item for item in items}


def _batch_get(run_id: str, sks: list[str]) -> dict[str, dict[str, Any]]:
    """These items of the run (those that exist) by sort key, consistently read (the
    previous state just wrote them), 100 keys a call."""
    keys = [(run_id, sk) for sk in sks]
    with engine_errors("reading the results table"):
        found = _batch_items(keys, table=table_name(), dynamodb=client("dynamodb"),
                             ConsistentRead=True)  # fmt: skip
    return found.get(run_id, {})


def _batch_items(
    keys: list[tuple[str, str]], *, table: str, dynamodb: Any, **read: Any
) -> dict[str, dict[str, dict[str, Any]]]:
    """The items of these (partition, sort) keys that exist, decoded, by partition
    then sort key, 100 keys a call; ``read``: BatchGetItem's options for the table
    (``ConsistentRead``, a projection that keeps both keys)."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        chunk = [_key(pk, sk) for pk, sk in keys[start : start + 100]]
        request: dict[str, Any] = {table: {"Keys": chunk, **read}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            items += response.get("Responses", {}).get(table, [])
            request = response.get("UnprocessedKeys") or {}
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for item in map(_decode_item, items):
        found.setdefault(item[PARTITION_KEY], {})[item[SORT_KEY]] = item
    return found


def put_item(pk: str, sk: str, **attributes: Any) -> None:
    """Write (overwrite) one item, its attributes encoded (None: not written), expiring
    with the run."""
    with engine_errors("writing the results table"):
        client("dynamodb").put_item(TableName=table_name(), Item=_item(pk, sk, **attributes))


def _item(pk: str, sk: str, **attributes: Any) -> dict[str, Any]:
    """An item of the table: its attributes encoded (None: not written), expiring with
    the run."""
    attributes[EXPIRES_AT] = expires_at()
    return _key(pk, sk) | {name: _encode(v) for name, v in attributes.items() if v is not None}


def _key(run_id: str, sk: str) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": run_id}, SORT_KEY: {"S": sk}}


def _encode(value: Any) -> dict[str, Any]:
    """The few attribute types the table uses: S, N, BOOL and lists of strings; text is
    masked (the last line of defence: nothing reaches the table unmasked)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_encode(v) for v in value]}
    return {"S": mask(str(value))}


def _decode(value: dict[str, Any]) -> Any:
    (kind, raw), *_ = value.items()
    if kind == "N":
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)
    if kind == "L":
        return [_decode(v) for v in raw]
    if kind == "NULL":
        return None
    return raw


def _decode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode(value) for name, value in item.items()}
