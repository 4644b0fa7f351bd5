"""The examples' own target, started by `itest run --local` (not product code).

itest looks for an `itest_local.py` beside the scenario files it runs locally
and enters its `local_target(aws)` context manager: whatever it yields is
passed to the scenarios as vars. This one serves a tiny orders API on
loopback that writes to the local DynamoDB, processes each order a couple of
seconds later and drops a receipt in S3, like the services the examples test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ORDERS_TABLE = "itest-example-orders"
RECEIPTS_BUCKET = "itest-example-receipts"
PROCESSING_DELAY_SECONDS = 2.0


class OrdersApi:
    """POST /orders stores an order PENDING; it turns PROCESSED later, with a receipt."""

    def __init__(self, aws: Any) -> None:
        self.dynamodb = aws.client("dynamodb")
        self.s3 = aws.client("s3")
        self.timers: list[threading.Timer] = []

    def provision(self) -> None:
        if ORDERS_TABLE not in self.dynamodb.list_tables()["TableNames"]:
            self.dynamodb.create_table(
                TableName=ORDERS_TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        self.s3.create_bucket(Bucket=RECEIPTS_BUCKET)

    def create(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not isinstance(order.get("id"), str) or not isinstance(order.get("qty"), int):
            return 400, {"error": "an order needs a string id and an integer qty"}
        created = {
            "id": order["id"],
            "qty": order["qty"],
            "status": "PENDING",
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        self.dynamodb.put_item(
            TableName=ORDERS_TABLE,
            Item={
                "pk": {"S": created["id"]},
                "qty": {"N": str(created["qty"])},
                "status": {"S": created["status"]},
                "created_at": {"S": created["created_at"]},
            },
        )
        timer = threading.Timer(PROCESSING_DELAY_SECONDS, self.process, args=(created,))
        timer.daemon = True
        timer.start()
        self.timers.append(timer)
        return 201, created

    def process(self, order: dict[str, Any]) -> None:
        self.dynamodb.update_item(
            TableName=ORDERS_TABLE,
            Key={"pk": {"S": order["id"]}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "PROCESSED"}},
        )
        receipt = {"order_id": order["id"], "qty": order["qty"], "total_cents": 1250 * order["qty"]}
        self.s3.put_object(
            Bucket=RECEIPTS_BUCKET,
            Key=f"receipts/{order['id']}.json",
            Body=json.dumps(receipt).encode(),
            ContentType="application/json",
        )

    def stop(self) -> None:
        for timer in self.timers:
            timer.cancel()


def _handler_for(api: OrdersApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/orders":
                return self._reply(404, {"error": f"no route {self.path}"})
            length = int(self.headers.get("Content-Length") or 0)
            try:
                order = json.loads(self.rfile.read(length) or b"null")
            except json.JSONDecodeError:
                return self._reply(400, {"error": "body is not JSON"})
            self._reply(*api.create(order if isinstance(order, dict) else {}))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@contextmanager
def local_target(aws: Any) -> Iterator[dict[str, str]]:
    """Serve the orders API on a free loopback port for the duration of the run."""
    api = OrdersApi(aws)
    api.provision()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "api_url": f"http://127.0.0.1:{server.server_address[1]}",
            "orders_table": ORDERS_TABLE,
            "receipts_bucket": RECEIPTS_BUCKET,
        }
    finally:
        server.shutdown()
        server.server_close()
        api.stop()
