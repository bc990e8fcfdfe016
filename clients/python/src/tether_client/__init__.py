"""Tether client for Python (asyncio): WebSocket connections that stay up and lose nothing.

See docs/protocol.md for the wire contract and clients/python/README.md for the API.
"""

from .backoff import Backoff, CircuitBreaker
from .client import DEFAULTS, Subscription, TetherClient, TetherError
from .close_codes import CloseInfo, classify, code_for_http_status, is_final
from .health import health_score

__all__ = [
    "Backoff",
    "CircuitBreaker",
    "CloseInfo",
    "DEFAULTS",
    "Subscription",
    "TetherClient",
    "TetherError",
    "classify",
    "code_for_http_status",
    "health_score",
    "is_final",
]
__version__ = "0.1.0"
