"""The close-code table of docs/protocol.md ("Close codes"): what a client does after a close.

One table decides; nothing else does. Codes not in it reconnect with backoff.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional

RECONNECT = "reconnect"
RECONNECT_AFTER_HINT = "reconnect-after-hint"
RECONNECT_NOW = "reconnect-now"
STOP = "stop"


class CloseInfo(NamedTuple):
    code: int
    name: str
    action: str
    hint: str


_TABLE: Dict[int, CloseInfo] = {
    c.code: c
    for c in [
        CloseInfo(1000, "normal", STOP, "Nothing to do; connect again when you want to."),
        CloseInfo(1001, "going_away", RECONNECT, "Reconnects with backoff."),
        CloseInfo(1002, "protocol_error", STOP, "Upgrade the client: the server does not accept its protocol."),
        CloseInfo(1003, "unsupported_data", STOP, "Upgrade the client: send JSON text frames only."),
        CloseInfo(1005, "no_status", RECONNECT, "Reconnects with backoff."),
        CloseInfo(1006, "abnormal", RECONNECT, "Reconnects with backoff."),
        CloseInfo(1007, "invalid_payload", STOP, "Upgrade the client: it sent malformed text."),
        CloseInfo(1008, "policy_violation", RECONNECT_AFTER_HINT, "Reconnects after the hinted delay; send less."),
        CloseInfo(1009, "message_too_big", RECONNECT, "The message was dropped; reconnects."),
        CloseInfo(1011, "internal_error", RECONNECT, "Reconnects with backoff."),
        CloseInfo(1012, "service_restart", RECONNECT_AFTER_HINT, "Reconnects after the retry-after hint plus jitter."),
        CloseInfo(1013, "try_again_later", RECONNECT_AFTER_HINT, "Reconnects after the retry-after hint plus jitter."),
        CloseInfo(1014, "bad_gateway", RECONNECT, "Reconnects with backoff."),
        CloseInfo(1015, "tls_handshake", STOP, "Fix the TLS configuration or certificate."),
        CloseInfo(4000, "handshake_timeout", RECONNECT, "Reconnects with backoff."),
        CloseInfo(4001, "unauthorized", STOP, "Re-authenticate: get a new token, then connect again."),
        CloseInfo(4002, "token_expired", RECONNECT, "Reconnects with a fresh token from the token provider."),
        CloseInfo(4003, "forbidden", STOP, "The user lacks permission; do not retry with the same credentials."),
        CloseInfo(4004, "not_found", STOP, "Check the URL and its path."),
        CloseInfo(4008, "heartbeat_timeout", RECONNECT, "Reconnects with backoff and resumes."),
        CloseInfo(4009, "slow_consumer", RECONNECT_NOW, "Reconnects at once and catches up by resume."),
        CloseInfo(4010, "session_replaced", STOP, "Another connection took over the session."),
        CloseInfo(4011, "unsupported_version", STOP, "Upgrade the client."),
        CloseInfo(4012, "connect_timeout", RECONNECT, "Reconnects with backoff."),
        CloseInfo(4013, "session_evicted", STOP, "Too many sessions of this user; connect again on a user action."),
        CloseInfo(4999, "client_closed", STOP, "Nothing to do."),
    ]
}

NOT_FOUND = 4004
CONNECT_TIMEOUT = 4012
HEARTBEAT_TIMEOUT = 4008
CLIENT_CLOSED = 4999
ABNORMAL = 1006


def classify(code: int) -> CloseInfo:
    """The table's row for `code`; codes not in the table reconnect with backoff."""
    info = _TABLE.get(code)
    if info is not None:
        return info
    return CloseInfo(code, "unknown", RECONNECT, "Reconnects with backoff.")


def is_final(code: int) -> bool:
    return classify(code).action == STOP


def code_for_http_status(status: int) -> int:
    """The close code a refused upgrade stands for (docs/protocol.md, "When the server refuses")."""
    return {401: 4001, 403: 4003, 404: 4004, 400: 1002, 426: 1002, 429: 1013, 503: 1012}.get(status, ABNORMAL)


def retry_after_from_reason(reason: str) -> Optional[int]:
    """A `retry-after=<ms>` hint in a close reason (when no goodbye arrived)."""
    marker = "retry-after="
    at = reason.find(marker)
    if at < 0:
        return None
    digits = ""
    for ch in reason[at + len(marker):]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None
