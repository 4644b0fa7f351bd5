"""Cold start of the handlers: import time, and Prepare's first invocation.

    python bench/cold_start.py [--runs 5]

1. `python -X importtime -c "import itest.lambdas.handlers"` in fresh processes:
   the median cumulative import time, and the slowest imports of one run.
2. The synthesized stack on the local AWS (the same code asset and layer as
   on Lambda): Prepare invoked cold, then warm, with Lambda's REPORT line
   (Init Duration = module import in a fresh process; Duration = the call,
   including boto3's import and clients, an S3 read and a DynamoDB write).

Locally the host interpreter's packages stand in for the layer (see
cli/local/lambda_bootstrap.py); on Lambda expect the same order of magnitude.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def import_times(runs: int) -> tuple[float, list[tuple[float, str]]]:
    """Median cumulative ms of `import itest.lambdas.handlers`; the top imports of the last run."""
    totals, rows = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import itest.lambdas.handlers"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows = []
        for line in done.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if match:
                rows.append((int(match.group(2)) / 1000, match.group(3), match.group(4)))
        totals.append(next(ms for ms, _, name in rows if name == "itest.lambdas.handlers"))
    top = sorted(((ms, f"{indent}{name}") for ms, indent, name in rows), reverse=True)[:12]
    return statistics.median(totals), top


def first_invocation() -> list[str]:
    """Prepare's REPORT lines, cold then warm, on the local AWS."""
    import yaml
    from itest.cli.local.deploy import stack_resources
    from itest.cli.local.orchestrator import started_orchestrator
    from itest.lambdas.scenario_store import scenario_key

    scenario = yaml.safe_load((ROOT / "scenarios" / "orders-happy-path.yaml").read_text())
    with started_orchestrator() as orchestrator:
        aws, bucket = orchestrator.aws, orchestrator.bucket
        key = scenario_key("orders-happy-path", "bench")
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(scenario).encode())
        (prepare,) = [
            physical
            for logical, (kind, physical) in stack_resources(aws, "Itest").items()
            if kind == "AWS::Lambda::Function" and logical.startswith("HandlersPrepare")
        ]
        reports = []
        for attempt in ("cold", "warm"):
            event = {
                "input": {"scenario": {"bucket": bucket, "key": key}, "vars": {"api_url": "x"}},
                "run_id": f"bench-{attempt}",
                "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:Itest:{attempt}",
            }
            response = aws.client("lambda").invoke(
                FunctionName=prepare, Payload=json.dumps(event).encode(), LogType="Tail"
            )
            tail = base64.b64decode(response["LogResult"]).decode()
            report = next(line for line in tail.splitlines() if line.startswith("REPORT"))
            reports.append(f"{attempt}: {report}")
        return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    median, top = import_times(args.runs)
    print(f"import itest.lambdas.handlers: median {median:.0f} ms over {args.runs} fresh processes")
    for ms, name in top:
        print(f"  {ms:7.1f} ms  {name}")
    for line in first_invocation():
        print(line)


if __name__ == "__main__":
    main()
