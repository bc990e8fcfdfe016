"""The device fleet's backend: FastAPI behind the Tether hub's gateway (docs/backend.md).

The hub POSTs each device's connect, reliable telemetry and requests here. The backend
stores telemetry once per Idempotency-Key, aggregates it per device, sends commands back
to a device through the hub's HTTP API (/api/send, a reliable direct message) and
publishes fleet-wide settings on the `fleet:config` topic (/api/publish).

    TETHER_BACKEND_SECRET=... TETHER_HUB_URL=http://127.0.0.1:8080 TETHER_API_KEY=... \\
      uvicorn backend:app --port 8000
"""

import asyncio
import hashlib
import hmac
import json
import os
import time
import urllib.request
from typing import Any, Optional

from fastapi import BackgroundTasks, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

SECRET = os.environ.get("TETHER_BACKEND_SECRET")
HUB_URL = os.environ.get("TETHER_HUB_URL", "http://127.0.0.1:8080")
API_KEY = os.environ.get("TETHER_API_KEY", "")
# Every this many readings a device is told to recalibrate (a command back to it).
COMMAND_EVERY = int(os.environ.get("FLEET_COMMAND_EVERY", "50"))

app = FastAPI(title="Tether device fleet backend")

# The "database": readings by Idempotency-Key (a unique column in a real one).
readings: dict[str, dict[str, Any]] = {}
replays = 0  # calls the hub made again for a key already stored (after a hub crash)
per_device: dict[str, dict[str, Any]] = {}
commands: dict[str, dict[str, Any]] = {}  # id -> {device, sent, done}
config: dict[str, Any] = {"version": 1, "sampleMs": 10}


def verify_signature(timestamp: Optional[str], signature: Optional[str], body: bytes) -> bool:
    if SECRET is None:
        return True
    if not timestamp or not timestamp.isdigit() or not signature or abs(time.time() - int(timestamp)) > 300:
        return False
    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(signature, "v1=" + mac.hexdigest())


@app.middleware("http")
async def check_signature(request: Request, call_next):
    if request.url.path.startswith("/tether/"):
        body = await request.body()
        h = request.headers
        if not verify_signature(h.get("x-tether-timestamp"), h.get("x-tether-signature"), body):
            return JSONResponse({"error": {"message": "bad signature"}}, status_code=401)
    return await call_next(request)


def hub_call(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the hub's HTTP API (blocking: run it in a thread)."""
    req = urllib.request.Request(
        HUB_URL + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read() or b"null")


async def send_command(device: str, command: dict[str, Any]) -> None:
    """A reliable direct message to every session of the device's user."""
    commands[command["id"]] = {"device": device, "sent": True, "done": False}
    await asyncio.to_thread(hub_call, "/api/send", {"user": device, "data": command})


@app.post("/tether/connect")
async def connect(event: dict[str, Any]):
    """Devices present `device-<id>`; a real fleet would check a per-device secret here."""
    token = event.get("token") or ""
    if not token.startswith("device-"):
        raise HTTPException(status_code=401, detail="unknown device")
    device = token[len("device-"):]
    return {"user": device, "topics": {"subscribe": ["fleet:config"], "publish": []}}


@app.post("/tether/message")
async def message(event: dict[str, Any], background: BackgroundTasks, idempotency_key: str = Header(...)):
    """A device's reliable send(): stored once per key, then acked (2xx)."""
    global replays
    if idempotency_key in readings:
        replays += 1
        return {"duplicate": True}
    data = event.get("data")
    device = event.get("user")
    if not isinstance(data, dict) or data.get("type") not in ("telemetry", "command_done"):
        return JSONResponse({"error": {"code": "BAD_READING", "message": "unknown message type"}}, status_code=422)
    readings[idempotency_key] = {"device": device, **data}
    if data["type"] == "command_done":
        commands.setdefault(data["id"], {"device": device, "sent": False})["done"] = True
        return {"stored": True}
    agg = per_device.setdefault(device, {"count": 0, "sum": 0.0, "last": None, "ns": []})
    agg["count"] += 1
    agg["sum"] += float(data["temp"])
    agg["last"] = data["temp"]
    agg["ns"].append(data["n"])
    if data["n"] % COMMAND_EVERY == 0:
        background.add_task(send_command, device, {"type": "command", "id": f"{device}:{data['n']}", "do": "recalibrate"})
    return {"stored": True}


@app.post("/tether/request")
async def request_(event: dict[str, Any]):
    """A device's request(): `config.get` answers the current fleet settings."""
    if event.get("method") == "config.get":
        return config
    return JSONResponse({"error": {"code": "UNKNOWN_METHOD", "message": "unknown method"}}, status_code=404)


# --- the operator's side: not part of the gateway contract.
@app.post("/config")
async def set_config(change: dict[str, Any]):
    """New fleet settings, published on `fleet:config` to every device."""
    config.update(change)
    config["version"] += 1
    return await asyncio.to_thread(hub_call, "/api/publish", {"topic": "fleet:config", "data": config})


@app.get("/fleet")
async def fleet():
    """Per device: readings stored, mean and last temperature, the reading numbers in arrival order."""
    return {
        "devices": {
            d: {"count": a["count"], "mean": round(a["sum"] / a["count"], 2), "last": a["last"], "ns": a["ns"]}
            for d, a in per_device.items()
        },
        "replays": replays,
        "commands": commands,
    }
