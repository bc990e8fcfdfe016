"""The health score of docs/client.md ("Stats and the health score"), the same formula as the TypeScript client."""

from __future__ import annotations

BASE = {"open": 100, "connecting": 60, "reconnecting": 40, "circuit-open": 10, "idle": 0, "closed": 0}


def health_score(state: str, consecutive_failures: int, recent_drops: int, rtt_avg_ms: float) -> int:
    """0-100: an open, stable connection without recent drops and an RTT up to 100 ms scores 100."""
    score = (
        BASE.get(state, 0)
        - min(40, 10 * consecutive_failures)
        - min(30, 5 * recent_drops)
        - min(20, max(0.0, (rtt_avg_ms - 100) / 50))
    )
    return int(max(0, min(100, round(score))))
