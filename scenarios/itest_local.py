"""The examples' own target, started by `itest run --local` (not product code).

itest looks for an `itest_local.py` beside the scenario files it runs locally
and enters its `local_target(aws)` context manager: whatever it yields is
passed to the scenarios as vars. This one stands in for the services the
examples test, on the local AWS:

- an orders API on loopback that writes to DynamoDB, processes each order a
  couple of seconds later (status PROCESSED, a receipt in S3), and tells the
  world: an ``OrderCreated`` event on the default EventBridge bus when an order
  is created, a ``receipt`` message (and an ``audit`` one, which a filter policy
  can leave out) on an SNS topic when it is processed;
- `GET /whoami`, which wants the API token kept in SSM and echoes what it was
  sent (so the secrets example has something to mask);
- `/echo`, `/moved` (a redirect) and `/blob` (a big answer), for the HTTP features;
- `/signed`, which wants a SigV4 signature (as API Gateway's IAM auth does) and
  `/basic`, which wants the database password as Basic auth (the auth example);
- a pricing Lambda function (`lambda.invoke`);
- the API token (SSM SecureString) and a database password (Secrets Manager).

Everything is created if missing, so entering it again on a long-lived local
AWS (`itest local up`) is fine.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ORDERS_TABLE = "itest-example-orders"
RECEIPTS_BUCKET = "itest-example-receipts"
PRICING_FUNCTION = "itest-example-pricing"
TOKEN_PARAMETER = "/itest-example/api-token"
DB_SECRET = "itest-example/db-password"
RECEIPTS_TOPIC = "itest-example-receipts"
EVENT_SOURCE = "itest.example.orders"
# Known values: the tests check that they appear nowhere in what a run leaves behind.
API_TOKEN = "tok-3f9c1e7a-example"
DB_PASSWORD = "pw-Zq8!example"
PROCESSING_DELAY_SECONDS = 4.0  # well after the first poll, even on a loaded machine
# /signed looks a secret key up by its id, as IAM would, when it knows it (else it checks
# the signature's form only: the local AWS makes up credentials each time it starts)
LOCAL_KEYS: dict[str, str] = {}

PRICING_CODE = """
import json

UNIT_PRICE_CENTS = 1250


def handler(event, context):
    print(json.dumps({"pricing": event}))
    qty = event.get("qty")
    if not isinstance(qty, int) or qty < 1:
        raise ValueError(f"qty must be a whole number >= 1, got {qty!r}")
    return {"qty": qty, "total_cents": UNIT_PRICE_CENTS * qty, "currency": "EUR"}
"""


class OrdersApi:
    """POST /orders stores an order PENDING; it turns PROCESSED later, with a receipt."""

    def __init__(self, aws: Any) -> None:
        self.dynamodb = aws.client("dynamodb")
        self.s3 = aws.client("s3")
        self.events = aws.client("events")
        self.sns = aws.client("sns")
        self.topic_arn = ""
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
        self.topic_arn = self.sns.create_topic(Name=RECEIPTS_TOPIC)["TopicArn"]

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
        self.events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": "OrderCreated",
                    "Detail": json.dumps({"order_id": created["id"], "qty": created["qty"]}),
                }
            ]
        )
        timer = threading.Timer(PROCESSING_DELAY_SECONDS, self.process, args=(created,))
        timer.daemon = True
        timer.start()
        self.timers.append(timer)
        return 201, created

    def read(self, order_id: str) -> tuple[int, dict[str, Any]]:
        item = self.dynamodb.get_item(
            TableName=ORDERS_TABLE, Key={"pk": {"S": order_id}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return 404, {"error": f"no order {order_id}"}
        return 200, {
            "id": order_id,
            "qty": int(item["qty"]["N"]),
            "status": item["status"]["S"],
            "created_at": item["created_at"]["S"],
        }

    def delete(self, order_id: str) -> tuple[int, dict[str, Any]]:
        self.dynamodb.delete_item(TableName=ORDERS_TABLE, Key={"pk": {"S": order_id}})
        return 204, {}

    def process(self, order: dict[str, Any]) -> None:
        """PROCESSED, and a receipt; nothing if the order was deleted meanwhile."""
        try:
            self.dynamodb.update_item(
                TableName=ORDERS_TABLE,
                Key={"pk": {"S": order["id"]}},
                UpdateExpression="SET #s = :s",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "PROCESSED"}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return
        receipt = {"order_id": order["id"], "qty": order["qty"], "total_cents": 1250 * order["qty"]}
        self.s3.put_object(
            Bucket=RECEIPTS_BUCKET,
            Key=f"receipts/{order['id']}.json",
            Body=json.dumps(receipt).encode(),
            ContentType="application/json",
        )
        for kind in ("receipt", "audit"):
            self.sns.publish(
                TopicArn=self.topic_arn,
                Subject=f"order {order['id']}",
                Message=json.dumps({**receipt, "kind": kind}),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
            )

    def stop(self) -> None:
        for timer in self.timers:
            timer.cancel()


def provision_services(aws: Any) -> None:
    """The pricing function and the two secrets (each created once)."""
    iam, lambda_ = aws.client("iam"), aws.client("lambda")
    try:
        role = iam.get_role(RoleName="itest-example-pricing")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        principal = {"Service": "lambda.amazonaws.com"}
        statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}
        trust = {"Version": "2012-10-17", "Statement": [statement]}
        role = iam.create_role(
            RoleName="itest-example-pricing", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", PRICING_CODE)
    try:
        lambda_.get_function(FunctionName=PRICING_FUNCTION)
    except lambda_.exceptions.ResourceNotFoundException:
        lambda_.create_function(
            FunctionName=PRICING_FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            # the local AWS runs only code its owner registered (docs/engine.md)
            Code={"ZipFile": aws.register_code(code.getvalue())},
            Timeout=10,
        )
    aws.client("ssm").put_parameter(
        Name=TOKEN_PARAMETER, Value=API_TOKEN, Type="SecureString", Overwrite=True
    )
    secrets = aws.client("secretsmanager")
    try:
        secrets.put_secret_value(SecretId=DB_SECRET, SecretString=DB_PASSWORD)
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=DB_SECRET, SecretString=DB_PASSWORD)


def verify_sigv4(
    method: str, path: str, headers: Any, body: bytes
) -> tuple[str | None, dict[str, str]]:
    """(problem or None, the Authorization fields) of a SigV4-signed request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    sent = headers.get("Authorization", "")
    if not sent.startswith("AWS4-HMAC-SHA256 "):
        return "not signed (no SigV4 Authorization header)", {}
    fields = dict(part.strip().split("=", 1) for part in sent.split(" ", 1)[1].split(","))
    key, _, region, service, _ = fields["Credential"].split("/")
    if not re.fullmatch(r"[0-9a-f]{64}", fields.get("Signature", "")) or "host" not in fields.get(
        "SignedHeaders", ""
    ).split(";"):
        return "not a SigV4 signature", fields
    if key not in LOCAL_KEYS:
        return None, fields  # the form is right; the key is one the local AWS made up
    signed = {name: headers[name] for name in fields["SignedHeaders"].split(";") if name in headers}
    request = AWSRequest(method=method, url=f"http://{headers['Host']}{path}", data=body,
                         headers=signed)  # fmt: skip
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    token = headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(key, LOCAL_KEYS[key], token), service, region)
    signature = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    return (None if signature == fields["Signature"] else "signature does not match"), fields


def _handler_for(api: OrdersApi, base_url: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/echo":
                return self._echo()
            if url.path == "/signed":
                return self._signed()
            if url.path != "/orders":
                return self._reply(404, {"error": f"no route {self.path}"})
            try:
                order = json.loads(self._body() or b"null")
            except json.JSONDecodeError:
                return self._reply(400, {"error": "body is not JSON"})
            self._reply(*api.create(order if isinstance(order, dict) else {}))

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path.startswith("/orders/"):
                return self._reply(*api.read(url.path.removeprefix("/orders/")))
            if url.path == "/whoami":
                return self._whoami()
            if url.path == "/echo":
                return self._echo()
            if url.path == "/signed":
                return self._signed()
            if url.path == "/basic":
                return self._basic()
            if url.path == "/blob":  # a big answer: ?rows=N rows of 100 characters
                rows = int(parse_qs(url.query).get("rows", ["1000"])[0])
                return self._reply(
                    200, {"rows": [{"n": i, "text": "x" * 100} for i in range(rows)]}
                )
            if url.path == "/moved":  # a redirect, for follow_redirects
                self.send_response(302)
                self.send_header("Location", f"{base_url[0]}/echo?from=moved")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._reply(404, {"error": f"no route {self.path}"})

        def do_PUT(self) -> None:
            if urlsplit(self.path).path == "/echo":
                return self._echo()
            return self._reply(404, {"error": f"no route {self.path}"})

        def do_DELETE(self) -> None:
            url = urlsplit(self.path)
            if not url.path.startswith("/orders/"):
                return self._reply(404, {"error": f"no route {self.path}"})
            status, _ = api.delete(url.path.removeprefix("/orders/"))
            self.send_response(status)
            self.end_headers()
            return None

        def _whoami(self) -> None:
            """Wants `Authorization: Bearer <the SSM token>`; echoes what it got, like a
            careless service might."""
            sent = self.headers.get("Authorization", "")
            if sent != f"Bearer {API_TOKEN}":
                return self._reply(401, {"error": "bad token", "got": sent})
            return self._reply(200, {"user": "itest-example", "token": sent.split(" ", 1)[1]})

        def _signed(self) -> None:
            """Verify a SigV4 signature the way AWS does: recompute it from what arrived."""
            problem, fields = verify_sigv4(self.command, self.path, self.headers, self._body())
            if problem:
                return self._reply(403, {"error": problem})
            scope = fields["Credential"].split("/")
            return self._reply(200, {"caller": scope[0], "region": scope[2], "service": scope[3],
                                     "authorization": self.headers["Authorization"]})  # fmt: skip

        def _basic(self) -> None:
            """Wants `itest-example` and the database password; echoes the header."""
            sent = self.headers.get("Authorization", "")
            expected = base64.b64encode(f"itest-example:{DB_PASSWORD}".encode()).decode()
            if sent != f"Basic {expected}":
                return self._reply(401, {"error": "bad credentials"})
            return self._reply(200, {"user": "itest-example", "authorization": sent})

        def _echo(self) -> None:
            url = urlsplit(self.path)
            body = self._body().decode()
            kind = self.headers.get("Content-Type", "")
            self._reply(
                200,
                {
                    "method": self.command,
                    "query": parse_qs(url.query),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "form": parse_qs(body) if kind.startswith("application/x-www-form") else None,
                    "json": json.loads(body) if kind.startswith("application/json") else None,
                    "text": body,
                },
            )

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

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
    provision_services(aws)
    base_url: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api, base_url))
    base_url.append(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "api_url": base_url[0],
            "orders_table": ORDERS_TABLE,
            "receipts_bucket": RECEIPTS_BUCKET,
            "pricing_function": PRICING_FUNCTION,
            "receipts_topic_arn": api.topic_arn,
        }
    finally:
        server.shutdown()
        server.server_close()
        api.stop()
