"""The Tether client for asyncio, written from docs/protocol.md.

One run loop per client: connect, hello (resume), welcome, then read until the
connection ends; the close-code table decides whether to reconnect (with jittered
backoff and a circuit breaker) or stop. Everything is numbered so that nothing is
lost, duplicated or reordered across reconnects.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import random
import time
from collections import deque
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Union

import websockets

from .backoff import Backoff, CircuitBreaker
from .close_codes import (
    ABNORMAL,
    CLIENT_CLOSED,
    CONNECT_TIMEOUT,
    HEARTBEAT_TIMEOUT,
    STOP,
    classify,
    code_for_http_status,
    retry_after_from_reason,
)
from .health import health_score

__all__ = ["TetherClient", "TetherError", "Subscription", "DEFAULTS"]

SUBPROTOCOL = "tether.v1"
AUTH_PREFIX = "tether.auth."
log = logging.getLogger("tether_client")

Json = Any
TokenProvider = Union[None, str, Callable[[], Union[str, None, Awaitable[Optional[str]]]]]
Listener = Callable[[Dict[str, Any]], Any]

#: Every default, in one place (seconds for durations, like asyncio).
DEFAULTS: Dict[str, Any] = {
    "min_delay": 0.5,  # full-jitter floor
    "max_delay": 30.0,  # full-jitter ceiling cap
    "min_uptime": 5.0,  # a connection up this long resets the attempt counter
    "breaker_threshold": 5,  # consecutive failed attempts that open the circuit (0: off)
    "breaker_cooldown": 60.0,  # how long the circuit stays open before one probe
    "connect_timeout": 10.0,  # socket open plus welcome
    "request_timeout": 30.0,
    "max_queue": 1000,  # outbox bound: unacknowledged reliable messages
    "ack_delay": 0.1,  # server messages are acked after this delay...
    "ack_every": 32,  # ...or once this many are unacked
    "rate_limited_retry": 1.0,  # pause before resending after RATE_LIMITED
    "close_timeout": 1.0,
    "max_message_bytes": None,  # hello.maxMessageBytes: the largest message we accept
}


class TetherError(Exception):
    """A failure with a stable `code` (a protocol error code or a client one) and whether retrying helps."""

    def __init__(self, code: str, message: str, retryable: bool = False, close_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.close_code = close_code


class Subscription:
    """One topic: its position (epoch, offset of the last publication delivered)."""

    def __init__(self, topic: str, from_: Optional[Dict[str, Any]], last: Optional[int]) -> None:
        self.topic = topic
        self.position: Optional[Dict[str, Any]] = dict(from_) if from_ else None
        self.last = last
        self.live = False
        self.active = True
        self.gaps = 0
        self._ready: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()

    def sub_frame(self) -> Dict[str, Any]:
        # After a reconnect: from the last position; before any pub, from the point the
        # first `subscribed` put it at (docs/protocol.md, "After a reconnect").
        if self.position is not None:
            return {"t": "sub", "topic": self.topic, "from": dict(self.position)}
        if self.last:
            return {"t": "sub", "topic": self.topic, "last": self.last}
        return {"t": "sub", "topic": self.topic}

    async def ready(self) -> Dict[str, Any]:
        """The first `subscribed` frame."""
        return await self._ready


class _Outgoing:
    __slots__ = ("seq", "frame", "future", "written")

    def __init__(self, seq: int, frame: Dict[str, Any], future: "asyncio.Future[int]") -> None:
        self.seq = seq
        self.frame = frame
        self.future = future
        self.written = False


class _Bucket:
    """Paces our frames to the server's announced rate (welcome.limits), so none is dropped."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = max(1.0, min(rate, 1e6))
        self.burst = max(1.0, min(burst, 1e6))
        self.tokens = self.burst
        self.at = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class _Closed(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class TetherClient:
    """An asyncio Tether client.

    ``token`` is a string or a callable (sync or async) asked on every attempt and on
    every ``refresh`` frame. Listen with :meth:`on`; events: ``state``, ``welcome``,
    ``message``, ``pub``, ``gap``, ``lost``, ``session_lost``, ``close``, ``error``,
    ``breaker``, ``health``.
    """

    def __init__(self, url: str, *, token: TokenProvider = None, name: str = "tether-python",
                 rand: Callable[[], float] = random.random, **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"TetherClient: unknown option(s) {', '.join(sorted(unknown))}")
        o = {**DEFAULTS, **options}
        for key in ("min_uptime", "connect_timeout", "request_timeout", "ack_delay", "close_timeout"):
            if not isinstance(o[key], (int, float)) or o[key] <= 0:
                raise ValueError(f"TetherClient: {key} must be a number > 0")
        for key in ("max_queue", "ack_every"):
            if not isinstance(o[key], int) or o[key] < 1:
                raise ValueError(f"TetherClient: {key} must be an integer >= 1")
        mmb = o["max_message_bytes"]
        if mmb is not None and (not isinstance(mmb, int) or mmb < 1024):
            raise ValueError("TetherClient: max_message_bytes must be an integer >= 1024")
        self.url = url
        self.name = name
        self.options = o
        self._token = token
        self.backoff = Backoff(o["min_delay"], o["max_delay"], rand=rand)
        self.breaker = CircuitBreaker(o["breaker_threshold"], o["breaker_cooldown"])
        self.state = "idle"
        self.session_id: Optional[str] = None
        self._resume_token: Optional[str] = None
        self.in_seq = 0  # highest server seq received (delivered or lost)
        self._ack_sent = 0
        self._out_seq = 0
        self._outbox: Deque[_Outgoing] = deque()
        self._subs: Dict[str, Subscription] = {}
        self._requests: Dict[Union[int, str], "asyncio.Future[Any]"] = {}
        self._next_request = 0
        self._handlers: Dict[str, Callable[[Any], Any]] = {}
        self._listeners: Dict[str, List[Listener]] = {}
        self._ws: Any = None
        self._wq: Optional["asyncio.Queue[Optional[str]]"] = None
        self._welcomed = False
        self._task: Optional["asyncio.Task[None]"] = None
        self._first: Optional["asyncio.Future[None]"] = None
        self._closing = False
        self._local_close: Optional[int] = None
        self._goodbye: Optional[Dict[str, Any]] = None
        self._ack_timer: Optional[asyncio.TimerHandle] = None
        self._attempt_failures = 0
        self._hb = (25.0, 10.0)
        self._last_in = time.monotonic()
        self._last_out = time.monotonic()
        self._opened_at: Optional[float] = None
        self._stable = False
        self._last_health = -1
        self.stats_counts: Dict[str, Any] = {
            "attempts": 0, "connects": 0, "drops": 0, "messages_sent": 0, "messages_received": 0,
            "rtt_ms": None, "rtt_avg_ms": 0.0, "drop_times": [],
        }

    # -- events ---------------------------------------------------------------

    def on(self, event: str, fn: Listener) -> Callable[[], None]:
        """Registers `fn(payload)`; returns its disposer."""
        self._listeners.setdefault(event, []).append(fn)

        def dispose() -> None:
            fns = self._listeners.get(event, [])
            if fn in fns:
                fns.remove(fn)

        return dispose

    def _emit(self, event: str, payload: Dict[str, Any]) -> None:
        for fn in list(self._listeners.get(event, [])):
            try:
                result = fn(payload)
                if inspect.isawaitable(result):
                    asyncio.ensure_future(result)
            except Exception:  # a listener's bug must not break delivery
                log.exception("tether listener for %s failed", event)

    def handle(self, method: str, fn: Callable[[Any], Any]) -> None:
        """Answers server requests for `method` (sync or async); others get NO_HANDLER."""
        self._handlers[method] = fn

    # -- state and health -----------------------------------------------------

    def _transition(self, to: str) -> None:
        if to == self.state:
            return
        previous, self.state = self.state, to
        self._emit("state", {"from": previous, "to": to})
        self._check_health()

    def health(self) -> int:
        now = time.monotonic()
        drops = self.stats_counts["drop_times"]
        while drops and now - drops[0] > 600:
            drops.pop(0)
        return health_score(self.state, self.breaker.failures, len(drops), self.stats_counts["rtt_avg_ms"])

    def _check_health(self) -> None:
        score = self.health()
        if score != self._last_health:
            self._last_health = score
            self._emit("health", {"score": score, "state": self.state})

    def stats(self) -> Dict[str, Any]:
        s = {k: v for k, v in self.stats_counts.items() if k != "drop_times"}
        s.update(state=self.state, session_id=self.session_id, queued=len(self._outbox),
                 pending_requests=len(self._requests), breaker=self.breaker.state,
                 consecutive_failures=self.breaker.failures, health=self.health())
        return s

    # -- public API -----------------------------------------------------------

    async def connect(self) -> None:
        """Starts the connection; returns once the first welcome arrived, raises TetherError on a final close."""
        if self._task is None or self._task.done():
            self._closing = False
            self._first = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self._run())
        assert self._first is not None
        await asyncio.shield(self._first)

    async def close(self) -> None:
        """Closes with 1000 and stops reconnecting; pending sends and requests fail with CLOSED."""
        self._closing = True
        self._local_close = CLIENT_CLOSED
        ws = self._ws
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(1000, "client closed"), self.options["close_timeout"])
            except Exception:
                _abort(ws)
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._fail_all(TetherError("CLOSED", "the client was closed"))
        self._transition("closed")

    def send(self, data: Json) -> "asyncio.Future[int]":
        """Queues a reliable message; the future resolves with its seq once the server acked (processed) it."""
        text_check = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        del text_check  # raises TypeError for data that is not JSON
        fut: "asyncio.Future[int]" = asyncio.get_running_loop().create_future()
        if self._closing or self.state == "closed":
            fut.set_exception(TetherError("CLOSED", "the client is closed"))
            return fut
        if len(self._outbox) >= self.options["max_queue"]:
            fut.set_exception(TetherError("QUEUE_FULL", f"outbox full (max_queue {self.options['max_queue']})", True))
            return fut
        self._out_seq += 1
        entry = _Outgoing(self._out_seq, {"t": "msg", "seq": self._out_seq, "data": data}, fut)
        self._outbox.append(entry)
        if self._welcomed:
            self._write_entry(entry)
        return fut

    async def request(self, method: str, data: Json = None, timeout: Optional[float] = None) -> Json:
        """Sends `req` and returns the reply's data; raises TetherError (TIMEOUT, DISCONNECTED, or the server's code)."""
        if not self._welcomed or self._wq is None:
            raise TetherError("DISCONNECTED", "not connected", True)
        self._next_request += 1
        rid = self._next_request
        fut: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        self._requests[rid] = fut
        frame: Dict[str, Any] = {"t": "req", "id": rid, "method": method}
        if data is not None:
            frame["data"] = data
        self._write(frame)
        try:
            return await asyncio.wait_for(fut, timeout if timeout is not None else self.options["request_timeout"])
        except asyncio.TimeoutError:
            raise TetherError("TIMEOUT", f"request {method} got no reply in time", True) from None
        finally:
            self._requests.pop(rid, None)

    def subscribe(self, topic: str, *, from_: Optional[Dict[str, Any]] = None, last: Optional[int] = None) -> Subscription:
        """Follows `topic` (from a position, or the last N); publications arrive as `pub` events, losses as `gap`."""
        sub = self._subs.get(topic)
        if sub is None:
            sub = Subscription(topic, from_, last)
            self._subs[topic] = sub
            if self._welcomed:
                self._write(sub.sub_frame())
        return sub

    def unsubscribe(self, topic: str) -> None:
        sub = self._subs.pop(topic, None)
        if sub is not None:
            sub.active = False
            if self._welcomed:
                self._write({"t": "unsub", "topic": topic})

    # -- the run loop -----------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0  # consecutive failed attempts (backoff exponent)
        delay = 0.0
        try:
            while not self._closing:
                wait = self.breaker.remaining(time.monotonic())
                if wait > 0:
                    self._transition("circuit-open")
                    await asyncio.sleep(wait)
                    self.breaker.start_probe()
                    self._emit("breaker", {"state": self.breaker.state})
                elif delay > 0:
                    self._transition("reconnecting")
                    await asyncio.sleep(delay)
                code, reason, retry_after = await self._attempt()
                if self._closing:
                    break
                info = classify(code)
                welcomed_at = self._opened_at
                # Stable: up for min_uptime by the clock (the watchdog may not have looked yet).
                stable = self._stable or (
                    welcomed_at is not None and time.monotonic() - welcomed_at >= self.options["min_uptime"])
                if stable and not self._stable:
                    self.breaker.reset()
                self._emit("close", {"code": code, "reason": reason, "action": info.action, "hint": info.hint})
                if welcomed_at is not None:
                    self.stats_counts["drops"] += 1
                    self.stats_counts["drop_times"].append(time.monotonic())
                if info.action == STOP:
                    err = TetherError(info.name.upper(), f"closed with {code} ({info.name}): {info.hint} {reason}".strip(),
                                      False, code)
                    self._fail_all(err)
                    if self._first is not None and not self._first.done():
                        self._first.set_exception(err)
                    self._transition("closed")
                    return
                if stable:
                    attempt = 0
                else:
                    # No welcome, or a welcome that died within min_uptime: a failed attempt.
                    opened = self.breaker.record_failure(time.monotonic())
                    if opened:
                        self._emit("breaker", {"state": self.breaker.state, "failures": self.breaker.failures})
                delay = self.backoff.plan(attempt, info.action, retry_after)
                attempt += 0 if stable else 1
                self._check_health()
        except asyncio.CancelledError:
            pass

    async def _get_token(self) -> Optional[str]:
        t = self._token
        if t is None or isinstance(t, str):
            return t
        value = t()
        if inspect.isawaitable(value):
            value = await value
        return value

    async def _attempt(self) -> "tuple[int, str, Optional[int]]":
        """One connection, from upgrade to close; returns (close code, reason, retry-after ms)."""
        self.stats_counts["attempts"] += 1
        self._transition("connecting" if self.session_id is None else "reconnecting")
        self._local_close = None
        self._goodbye = None
        self._opened_at = None
        self._stable = False
        self._welcomed = False
        protocols = [SUBPROTOCOL]
        token = await self._get_token()
        if token:
            b64 = base64.urlsafe_b64encode(token.encode("utf-8")).decode("ascii").rstrip("=")
            protocols.append(AUTH_PREFIX + b64)
        deadline = time.monotonic() + self.options["connect_timeout"]
        max_size = self.options["max_message_bytes"] or 2 ** 20 * 16
        try:
            ws = await asyncio.wait_for(
                websockets.connect(self.url, subprotocols=protocols, max_size=max_size,  # type: ignore[arg-type]
                                   ping_interval=None, open_timeout=None, close_timeout=self.options["close_timeout"]),
                max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return CONNECT_TIMEOUT, "connect timeout", None
        except Exception as err:  # noqa: BLE001 - HTTP refusals differ across websockets versions
            status = _http_status(err)
            if status is not None:
                retry = _retry_after_header(err)
                return code_for_http_status(status), f"HTTP {status} {_http_body(err)}".strip(), retry
            return ABNORMAL, str(err), None
        if getattr(ws, "subprotocol", None) != SUBPROTOCOL:
            await ws.close(1000)
            return 1002, "the server did not select tether.v1", None
        self._ws = ws
        self._wq = asyncio.Queue()
        writer = asyncio.ensure_future(self._writer(ws, self._wq))
        watchdog: Optional["asyncio.Task[None]"] = None
        try:
            hello: Dict[str, Any] = {"t": "hello", "v": 1, "client": {"name": self.name[:128], "version": "0.1.0"}}
            if self.session_id is not None and self._resume_token is not None:
                hello["resume"] = {"sid": self.session_id, "token": self._resume_token, "seq": self.in_seq}
            if self.options["max_message_bytes"] is not None:
                hello["maxMessageBytes"] = self.options["max_message_bytes"]
            await ws.send(json.dumps(hello))
            self._last_in = time.monotonic()
            while True:
                timeout = None
                if not self._welcomed:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        raise _Closed(CONNECT_TIMEOUT, "no welcome in time")
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout) if timeout is not None else await ws.recv()
                except asyncio.TimeoutError:
                    raise _Closed(CONNECT_TIMEOUT, "no welcome in time") from None
                self._last_in = time.monotonic()
                if not isinstance(text, str):
                    continue
                parsed = json.loads(text)
                for frame in parsed if isinstance(parsed, list) else [parsed]:
                    if isinstance(frame, dict):
                        await self._on_frame(frame)
                if self._welcomed and watchdog is None:
                    watchdog = asyncio.ensure_future(self._watchdog(ws))
        except _Closed as c:
            self._local_close = c.code
            _abort(ws)
            return c.code, c.reason, None
        except Exception as err:  # noqa: BLE001 - every way a socket ends
            code, reason = _close_of(err)
            if self._local_close is not None:
                code = self._local_close
            if self._goodbye is not None:
                code = int(self._goodbye.get("code", code))
                reason = str(self._goodbye.get("reason", reason))
                retry = self._goodbye.get("retryAfter")
                return code, reason, retry if isinstance(retry, int) else retry_after_from_reason(reason)
            return code, reason, retry_after_from_reason(reason)
        finally:
            self._welcomed = False
            self._ws = None
            for task in (writer, watchdog):
                if task is not None:
                    task.cancel()
            if self._ack_timer is not None:
                self._ack_timer.cancel()
                self._ack_timer = None
            for sub in self._subs.values():
                sub.live = False
            for fut in self._requests.values():
                if not fut.done():
                    fut.set_exception(TetherError("DISCONNECTED", "the connection dropped before the reply", True))
            _abort(ws)

    async def _writer(self, ws: Any, queue: "asyncio.Queue[Optional[str]]") -> None:
        bucket: Optional[_Bucket] = None
        try:
            while True:
                text = await queue.get()
                if text is None:
                    return
                if self._limits is not None:
                    if bucket is None:
                        bucket = _Bucket(self._limits[0] * 0.9, self._limits[1] / 2)
                    await bucket.take()
                await ws.send(text)
                self._last_out = time.monotonic()
        except asyncio.CancelledError:
            pass
        except Exception:  # the reader sees the close
            pass

    _limits: Optional["tuple[float, float]"] = None

    async def _watchdog(self, ws: Any) -> None:
        interval, timeout = self._hb
        try:
            while True:
                await asyncio.sleep(min(interval, timeout) / 4)
                now = time.monotonic()
                # Wall-clock since the last inbound traffic, not timer ticks.
                if now - self._last_in > interval + timeout:
                    self._local_close = HEARTBEAT_TIMEOUT
                    _abort(ws)
                    return
                if now - self._last_out >= interval:
                    self._write({"t": "ping", "ts": int(time.time() * 1000)})
                if not self._stable and self._opened_at is not None and now - self._opened_at >= self.options["min_uptime"]:
                    self._stable = True
                    self.breaker.reset()
                    self._check_health()
        except asyncio.CancelledError:
            pass

    # -- frames -----------------------------------------------------------------

    def _write(self, frame: Dict[str, Any]) -> None:
        if self._wq is not None:
            self._wq.put_nowait(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    def _write_entry(self, entry: _Outgoing) -> None:
        entry.written = True
        self.stats_counts["messages_sent"] += 1
        self._write(entry.frame)

    async def _on_frame(self, f: Dict[str, Any]) -> None:
        t = f.get("t")
        if t == "welcome":
            self._on_welcome(f)
        elif t == "ping":
            self._write({"t": "pong", "ts": f.get("ts", 0), "rts": int(time.time() * 1000)})
        elif t == "pong":
            ts = f.get("ts")
            if isinstance(ts, int):
                rtt = max(0, int(time.time() * 1000) - ts)
                avg = self.stats_counts["rtt_avg_ms"]
                self.stats_counts["rtt_ms"] = rtt
                self.stats_counts["rtt_avg_ms"] = rtt if avg == 0 else avg * 0.8 + rtt * 0.2
        elif t == "msg":
            self._on_msg(f)
        elif t == "ack":
            self._on_ack(int(f.get("seq", 0)))
        elif t == "res":
            fut = self._requests.get(f.get("id"))  # type: ignore[arg-type]
            if fut is not None and not fut.done():
                if f.get("ok") is True:
                    fut.set_result(f.get("data"))
                else:
                    e = f.get("error") or {}
                    fut.set_exception(TetherError(str(e.get("code", "INTERNAL")), str(e.get("message", ""))))
        elif t == "req":
            await self._on_req(f)
        elif t == "subscribed":
            self._on_subscribed(f)
        elif t == "pub":
            self._on_pub(f)
        elif t == "error":
            self._on_error(f)
        elif t == "goodbye":
            self._goodbye = f
        elif t == "refresh":
            token = await self._get_token()
            if token:
                self._write({"t": "auth", "token": token})
        # unsubscribed, published, authed: nothing to do here.

    def _on_welcome(self, f: Dict[str, Any]) -> None:
        resumed = f.get("resumed") is True
        had_session = self.session_id is not None
        if had_session and not resumed:
            # A new session: the old one's unreceived messages are gone. Tell the app; our
            # unacked messages are resent renumbered from 1 (at-least-once across this boundary).
            self._emit("session_lost", {"reason": f.get("reason"), "previous": self.session_id})
            self.in_seq = 0
            self._ack_sent = 0
            self._out_seq = 0
            for entry in self._outbox:
                self._out_seq += 1
                entry.seq = self._out_seq
                entry.frame["seq"] = self._out_seq
        self.session_id = f["sid"]
        self._resume_token = f["token"]
        hb = f.get("hb") or {}
        self._hb = (hb.get("interval", 25000) / 1000.0, hb.get("timeout", 10000) / 1000.0)
        limits = f.get("limits") or {}
        self._limits = (float(limits.get("rate", 100)), float(limits.get("burst", 200)))
        self._on_ack(int(f.get("ack", 0)))
        self._welcomed = True
        self._opened_at = time.monotonic()
        self.stats_counts["connects"] += 1
        self.breaker.record_connected()
        self._transition("open")
        for entry in self._outbox:
            self._write_entry(entry)
        for sub in self._subs.values():
            self._write(sub.sub_frame())
        self._emit("welcome", {"resumed": resumed, "reason": f.get("reason"), "sid": self.session_id})
        if self._first is not None and not self._first.done():
            self._first.set_result(None)

    def _on_ack(self, seq: int) -> None:
        while self._outbox and self._outbox[0].seq <= seq:
            entry = self._outbox.popleft()
            if not entry.future.done():
                entry.future.set_result(entry.seq)

    def _on_msg(self, f: Dict[str, Any]) -> None:
        seq = f.get("seq")
        if seq is None:
            self.stats_counts["messages_received"] += 1
            self._emit("message", {"data": f.get("data"), "seq": None})
            return
        if seq <= self.in_seq:
            self._schedule_ack(again=True)  # a replay we already have: ack again, deliver nothing
            return
        if seq > self.in_seq + 1:
            log.warning("tether: server seq %s after %s (a gap); dropped without ack", seq, self.in_seq)
            return
        self.in_seq = seq
        self.stats_counts["messages_received"] += 1
        self._emit("message", {"data": f.get("data"), "seq": seq})
        self._schedule_ack()

    def _schedule_ack(self, again: bool = False) -> None:
        if again:
            self._ack_sent = min(self._ack_sent, self.in_seq - 1)
        if self.in_seq <= self._ack_sent:
            return
        if self.in_seq - self._ack_sent >= self.options["ack_every"]:
            self._flush_ack()
        elif self._ack_timer is None:
            self._ack_timer = asyncio.get_running_loop().call_later(self.options["ack_delay"], self._flush_ack)

    def _flush_ack(self) -> None:
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        if self.in_seq > self._ack_sent and self._welcomed:
            self._ack_sent = self.in_seq
            self._write({"t": "ack", "seq": self.in_seq})

    async def _on_req(self, f: Dict[str, Any]) -> None:
        rid = f.get("id")
        fn = self._handlers.get(str(f.get("method")))
        if fn is None:
            self._write({"t": "res", "id": rid, "ok": False,
                         "error": {"code": "NO_HANDLER", "message": f"no handler for method {f.get('method')!r}"}})
            return
        try:
            result = fn(f.get("data"))
            if inspect.isawaitable(result):
                result = await result
            self._write({"t": "res", "id": rid, "ok": True, "data": result})
        except Exception as err:  # noqa: BLE001 - the handler's failure goes back as HANDLER_ERROR
            self._write({"t": "res", "id": rid, "ok": False, "error": {"code": "HANDLER_ERROR", "message": str(err)}})

    def _on_subscribed(self, f: Dict[str, Any]) -> None:
        sub = self._subs.get(str(f.get("topic")))
        if sub is None:
            return
        epoch, offset, replay = f["epoch"], int(f["offset"]), int(f.get("replay", 0))
        baseline = max(0, offset - replay)
        prev = sub.position
        same = prev is not None and prev["epoch"] == epoch
        lost = f.get("recovered") is False or (prev is not None and (not same or baseline > prev["offset"]))
        sub.position = {"epoch": epoch, "offset": max(prev["offset"], baseline) if same and prev else baseline}
        sub.live = True
        if not sub._ready.done():
            sub._ready.set_result(f)
        if lost:
            sub.gaps += 1
            self._emit("gap", {"topic": sub.topic, "recovered": False, "reason": "trimmed" if same else "epoch",
                               "from": prev, "next": {"epoch": epoch, "offset": baseline + 1}})

    def _on_pub(self, f: Dict[str, Any]) -> None:
        sub = self._subs.get(str(f.get("topic")))
        if sub is None or not sub.live or sub.position is None:
            return
        pos = sub.position
        offset = int(f["offset"])
        if f["epoch"] == pos["epoch"] and offset <= pos["offset"]:
            return  # a duplicate
        if f["epoch"] != pos["epoch"] or offset > pos["offset"] + 1:
            # Skipped ahead (a publication too big for max_message_bytes, or a server bug): a gap.
            sub.gaps += 1
            self._emit("gap", {"topic": sub.topic, "recovered": False, "reason": "skipped", "from": dict(pos),
                               "next": {"epoch": f["epoch"], "offset": offset}})
        sub.position = {"epoch": f["epoch"], "offset": offset}
        self._emit("pub", {"topic": sub.topic, "epoch": f["epoch"], "offset": offset, "data": f.get("data")})

    def _on_error(self, f: Dict[str, Any]) -> None:
        ref = f.get("ref") or {}
        code = f.get("code")
        if code == "TOO_BIG" and ref.get("t") == "msg" and ref.get("seq") == self.in_seq + 1:
            # The server could not fit message `seq` into our max_message_bytes: lost, acked.
            self.in_seq = int(ref["seq"])
            self._emit("lost", {"seq": self.in_seq, "message": f.get("message")})
            self._schedule_ack()
        elif code == "RATE_LIMITED" and isinstance(ref.get("seq"), int):
            # Dropped unprocessed: write it and what followed again after a pause, in order.
            asyncio.get_running_loop().call_later(self.options["rate_limited_retry"], self._rewrite_from, ref["seq"])
        self._emit("error", {"code": code, "message": f.get("message"), "ref": ref})

    def _rewrite_from(self, seq: int) -> None:
        if not self._welcomed:
            return
        for entry in self._outbox:
            if entry.seq >= seq:
                self._write_entry(entry)

    def _fail_all(self, err: TetherError) -> None:
        while self._outbox:
            entry = self._outbox.popleft()
            if not entry.future.done():
                entry.future.set_exception(err)
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(err)


def _abort(ws: Any) -> None:
    transport = getattr(ws, "transport", None)
    if transport is not None:
        transport.abort()


def _close_of(err: BaseException) -> "tuple[int, str]":
    rcvd = getattr(err, "rcvd", None)
    if rcvd is not None:
        return int(rcvd.code), str(rcvd.reason)
    return ABNORMAL, ""


def _http_status(err: BaseException) -> Optional[int]:
    status = getattr(err, "status_code", None)  # websockets < 14: InvalidStatusCode
    if status is None:
        response = getattr(err, "response", None)  # websockets >= 14: InvalidStatus
        status = getattr(response, "status_code", None)
    return int(status) if isinstance(status, int) else None


def _http_body(err: BaseException) -> str:
    response = getattr(err, "response", None)
    body = getattr(response, "body", None)
    if isinstance(body, (bytes, bytearray)):
        return body[:200].decode("utf-8", "replace")
    return ""


def _retry_after_header(err: BaseException) -> Optional[int]:
    headers = getattr(err, "headers", None) or getattr(getattr(err, "response", None), "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return int(value) * 1000 if value is not None else None
    except ValueError:
        return None
