"""Audit driver: the Python client against a real Tether hub, driven by a Node test.

Usage: audit_driver.py URL TOPIC SENDS PUBS MSGS [MAX_MESSAGE_BYTES]

Prints one JSON line {"event": "ready", "sid": ...} once connected and subscribed, then
sends SENDS numbered reliable messages ({"from": "py", "n": i}) while receiving numbered
publications and direct messages; once PUBS publications and MSGS messages arrived and
every send was acknowledged, prints {"event": "done", ...} with everything it saw (the
Node side audits it: no gap, no duplicate, no reorder) and closes cleanly.
"""

import asyncio
import json
import sys
from typing import Any, Dict, List

from tether_client import TetherClient


def emit(line: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


async def main() -> int:
    url, topic = sys.argv[1], sys.argv[2]
    sends, pubs_expected, msgs_expected = (int(x) for x in sys.argv[3:6])
    options: Dict[str, Any] = {"max_delay": 1.0, "breaker_threshold": 0}
    if len(sys.argv) > 6:
        options["max_message_bytes"] = int(sys.argv[6])
    client = TetherClient(url, name="python-audit", **options)
    pubs: List[int] = []
    msgs: List[int] = []
    gaps: List[Dict[str, Any]] = []
    lost: List[Dict[str, Any]] = []
    closes: List[int] = []
    welcomes: List[Dict[str, Any]] = []
    done = asyncio.Event()
    acked = 0

    def check() -> None:
        if len(pubs) >= pubs_expected and len(msgs) >= msgs_expected and acked >= sends:
            done.set()

    def on_pub(e: Dict[str, Any]) -> None:
        pubs.append(e["data"]["n"])
        check()

    def on_msg(e: Dict[str, Any]) -> None:
        msgs.append(e["data"]["n"])
        check()

    client.on("pub", on_pub)
    client.on("message", on_msg)
    client.on("gap", gaps.append)
    client.on("session_lost", lost.append)
    client.on("close", lambda e: closes.append(e["code"]))
    client.on("welcome", welcomes.append)
    await client.connect()
    sub = client.subscribe(topic)
    await sub.ready()
    emit({"event": "ready", "sid": client.session_id})

    futures = [client.send({"from": "py", "n": n}) for n in range(1, sends + 1)]
    for fut in futures:
        await fut
        acked += 1
    check()
    await done.wait()
    stats = client.stats()
    await client.close()
    emit({"event": "done", "pubs": pubs, "msgs": msgs, "gaps": gaps, "sessionLost": lost, "closes": closes,
          "resumes": sum(1 for w in welcomes if w["resumed"]), "acked": acked, "health": stats["health"],
          "sid": client.session_id, "state": client.state})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
