"""A complete Tether backend in FastAPI.

The hub (`tether serve --backend-url ...`) POSTs client messages, requests, connects,
publications, subscriptions and disconnects here. The contract is docs/backend.md;
examples/backend-express is the same backend in Node.

    TETHER_BACKEND_SECRET=... uvicorn app:app --port 8000
    TETHER_BACKEND_URL=http://127.0.0.1:8000 TETHER_BACKEND_SECRET=... \\
      TETHER_BACKEND_EVENTS=message,request,connect,publish,subscribe,disconnect npx tether serve
"""

import hashlib
import hmac
import os
import time
from typing import Any, Optional

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

# Signatures older than this are refused (replays of a captured call).
MAX_SKEW_SECONDS = 300

SECRET = os.environ.get("TETHER_BACKEND_SECRET")

app = FastAPI(title="Tether backend example")

# Messages by Idempotency-Key: a message the hub delivers again is stored once.
messages: dict[str, dict[str, Any]] = {}
disconnects: list[dict[str, Any]] = []


def verify_signature(secret: str, timestamp: Optional[str], signature: Optional[str], body: bytes) -> bool:
    """Whether X-Tether-Signature is the HMAC-SHA256 of "timestamp.body" under secret."""
    if not timestamp or not timestamp.isdigit() or not signature:
        return False
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(signature, "v1=" + mac.hexdigest())


@app.middleware("http")
async def check_signature(request: Request, call_next):
    if SECRET is not None and request.url.path.startswith("/tether/"):
        # The exact bytes: the signature is over them, not over a re-serialization.
        body = await request.body()
        ok = verify_signature(
            SECRET,
            request.headers.get("x-tether-timestamp"),
            request.headers.get("x-tether-signature"),
            body,
        )
        if not ok:
            return JSONResponse({"error": {"message": "bad signature"}}, status_code=401)
    return await call_next(request)


@app.post("/tether/message")
async def message(event: dict[str, Any], idempotency_key: str = Header(...)):
    """A client's send(): 2xx acks it; 4xx refuses it for good (send() rejects with this
    message); anything else (or no answer) makes the hub retry with the same key."""
    if idempotency_key in messages:
        return {"duplicate": True}
    data = event.get("data") or {}
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or text.strip() == "":
        return JSONResponse(
            {"error": {"code": "INVALID_MESSAGE", "message": "text is required"}}, status_code=422
        )
    messages[idempotency_key] = {"key": idempotency_key, "user": event.get("user"), "text": text}
    return {"stored": True}


@app.post("/tether/request")
async def request_(event: dict[str, Any]):
    """A client's request(method, data): the JSON body is the reply."""
    method, data = event.get("method"), event.get("data") or {}
    if method == "sum":
        return {"sum": data.get("a", 0) + data.get("b", 0)}
    if method == "messages":
        return list(messages.values())
    return JSONResponse(
        {"error": {"code": "UNKNOWN_METHOD", "message": f"unknown method {method}"}}, status_code=404
    )


@app.post("/tether/connect")
async def connect(event: dict[str, Any]):
    """Who may connect (instead of JWT): the user, its topics, and data for its welcome."""
    token = event.get("token") or ""
    if token.startswith("banned-"):
        raise HTTPException(status_code=403, detail="this user is banned")
    if not token.startswith("demo-"):
        raise HTTPException(status_code=401, detail="unknown token")
    user = token[len("demo-"):]
    return {
        "user": user,
        "topics": {"publish": ["chat:*"], "subscribe": ["chat:*"]},
        "data": {"greeting": f"hello {user}"},
    }


@app.post("/tether/publish")
async def publish(event: dict[str, Any]):
    """A client's publish: refuse spam, stamp the rest with its author."""
    data = event.get("data") or {}
    if "spam" in str(data.get("text", "")):
        raise HTTPException(status_code=422, detail="no spam, please")
    return {"data": {**data, "by": event.get("user")}}


@app.post("/tether/subscribe")
async def subscribe(event: dict[str, Any]):
    return {}


@app.post("/tether/disconnect")
async def disconnect(event: dict[str, Any]):
    disconnects.append(event)
    return {}


# Not part of the contract: lets you (and the example's test) look inside.
@app.get("/messages")
async def list_messages():
    return list(messages.values())


@app.get("/disconnects")
async def list_disconnects():
    return disconnects
