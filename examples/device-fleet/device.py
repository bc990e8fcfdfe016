"""One device of the fleet: sends numbered temperature readings reliably, executes the
commands the backend sends it, and follows the fleet settings on `fleet:config`.

    PYTHONPATH=clients/python/src python3 examples/device-fleet/device.py \\
        --url ws://127.0.0.1:8080/ws --id dev-1 --readings 200

Prints JSON lines (`ready`, `command`, `config`, `done`). A lost connection is the client's
business: unacked readings are resent in order after it resumes, and the server drops the
ones it already processed, so the backend sees each reading once.
"""

import argparse
import asyncio
import json
import math
import sys
import time
from typing import Any, Dict, List

from tether_client import TetherClient


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--readings", type=int, default=200)
    p.add_argument("--commands", type=int, default=None, help="commands to wait for (default readings // 50)")
    p.add_argument("--deadline", type=float, default=60.0, help="seconds before giving up")
    args = p.parse_args()
    expected_commands = args.readings // 50 if args.commands is None else args.commands

    client = TetherClient(args.url, token=f"device-{args.id}", name=f"device/{args.id}", min_delay=0.05, max_delay=0.5)
    settings: Dict[str, Any] = {}
    commands: List[str] = []
    reports: List["asyncio.Future[int]"] = []
    welcomes: List[bool] = []
    all_commands = asyncio.Event()

    def on_command(e: Dict[str, Any]) -> None:
        data = e["data"]
        if data.get("type") != "command":
            return
        commands.append(data["id"])
        emit("command", id=data["id"], do=data["do"])
        # Reporting back is a reliable send too: it survives a cut like the readings.
        reports.append(client.send({"type": "command_done", "id": data["id"]}))
        if len(commands) >= expected_commands:
            all_commands.set()

    def on_config(e: Dict[str, Any]) -> None:
        settings.update(e["data"])
        emit("config", version=settings["version"], sampleMs=settings.get("sampleMs"))

    client.on("message", on_command)
    client.on("pub", on_config)
    client.on("welcome", lambda w: welcomes.append(bool(w.get("resumed"))))
    client.on("session_lost", lambda e: emit("session_lost", reason=e.get("reason")))
    await client.connect()
    client.subscribe("fleet:config")
    settings.update(await client.request("config.get", timeout=10))
    emit("ready", session=client.session_id, config=settings)
    if expected_commands == 0:
        all_commands.set()

    started = time.monotonic()
    pending = []
    for n in range(1, args.readings + 1):
        temp = round(20 + 5 * math.sin(n / 10), 2)
        pending.append(client.send({"type": "telemetry", "device": args.id, "n": n, "temp": temp}))
        # The sampling period comes from the fleet settings, so a published change applies at once.
        await asyncio.sleep(settings.get("sampleMs", 10) / 1000)
    left = args.deadline - (time.monotonic() - started)
    await asyncio.wait_for(asyncio.gather(*pending), timeout=max(left, 1))
    await asyncio.wait_for(all_commands.wait(), timeout=max(args.deadline - (time.monotonic() - started), 1))
    await asyncio.wait_for(asyncio.gather(*reports), timeout=10)
    stats = client.stats()
    await client.close()
    emit("done", acked=len(pending), commands=commands, resumed=sum(welcomes[1:]), connects=len(welcomes),
         config_version=settings.get("version"), drops=stats.get("drops"))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
