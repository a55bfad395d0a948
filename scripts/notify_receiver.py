#!/usr/bin/env python3
"""A local receiver for the portal's robot and webhook notifications (the demo channels point here).

    python scripts/notify_receiver.py            # listens on 127.0.0.1:8765
    NOTIFY_WEBHOOK_SECRET=… python scripts/notify_receiver.py --port 9000

POST /wecom and /dingtalk answer like the robots do ({"errcode": 0}); POST /webhook verifies the
signature exactly as an integrator should (see README "Verifying webhook signatures") and answers 401
when it does not match, or when the timestamp is more than five minutes off. Deliveries already seen
(same X-Portal-Delivery id) are acknowledged without being processed again. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("NOTIFY_WEBHOOK_SECRET", "demo-webhook-secret-2026")
SEEN: set[str] = set()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300) -> bool:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, document: dict) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        delivery = self.headers.get("X-Portal-Delivery", "")
        path = self.path.split("?", 1)[0]
        if path == "/webhook" and not verify(
            SECRET, self.headers.get("X-Portal-Timestamp", ""), body, self.headers.get("X-Portal-Signature", "")
        ):
            print(f"REJECTED {delivery}: bad signature")
            return self._answer(401, {"error": "bad signature"})
        if delivery in SEEN:
            print(f"duplicate {delivery} acknowledged, not processed again")
            return self._answer(200, {"errcode": 0, "errmsg": "ok"})
        SEEN.add(delivery)
        print(f"--- {path} {delivery} {self.headers.get('X-Portal-Event', '')}")
        print(json.dumps(json.loads(body), ensure_ascii=False, indent=2))
        self._answer(200, {"errcode": 0, "errmsg": "ok"})

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    print(f"listening on http://127.0.0.1:{args.port}/ (wecom, dingtalk, webhook)")
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
