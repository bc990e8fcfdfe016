"""Unit tests of the pure logic: backoff, breaker, close codes, health score."""

import unittest

from tether_client import Backoff, CircuitBreaker, TetherClient, classify, code_for_http_status, health_score, is_final
from tether_client.close_codes import retry_after_from_reason


class BackoffTest(unittest.TestCase):
    def test_full_jitter_bounds_double_up_to_30_s(self) -> None:
        low = Backoff(rand=lambda: 0.0)
        high = Backoff(rand=lambda: 0.999999)
        self.assertEqual([low.delay(n) for n in range(8)], [0.5] * 8)
        ceilings = [round(high.delay(n), 3) for n in range(8)]
        self.assertEqual(ceilings, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0])
        self.assertEqual(high.delay(10_000), high.delay(6))

    def test_hint_and_reconnect_now(self) -> None:
        b = Backoff(rand=lambda: 0.5)
        self.assertEqual(b.plan(0, "reconnect-now", None), 0.0)
        self.assertEqual(b.plan(1, "reconnect-now", None), b.delay(1))
        # 2.5 s hint plus half of a spread of max(0.5, 2.5) s.
        self.assertAlmostEqual(b.plan(3, "reconnect-after-hint", 2500), 3.75)
        self.assertEqual(b.plan(2, "reconnect-after-hint", None), b.delay(2))

    def test_invalid_options_name_themselves(self) -> None:
        with self.assertRaisesRegex(ValueError, "min_delay"):
            Backoff(min_delay=0)
        with self.assertRaisesRegex(ValueError, "max_queue"):
            TetherClient("ws://127.0.0.1:1/ws", max_queue=0)
        with self.assertRaisesRegex(ValueError, "max_message_bytes"):
            TetherClient("ws://127.0.0.1:1/ws", max_message_bytes=100)
        with self.assertRaisesRegex(ValueError, "unknown option"):
            TetherClient("ws://127.0.0.1:1/ws", min_dealy=1)


class BreakerTest(unittest.TestCase):
    def test_opens_after_5_failures_for_60_s_then_probes(self) -> None:
        b = CircuitBreaker()
        self.assertEqual([b.record_failure(0.0) for _ in range(5)], [False, False, False, False, True])
        self.assertEqual(b.state, "open")
        self.assertEqual(b.remaining(10.0), 50.0)
        self.assertEqual(b.remaining(61.0), 0.0)
        b.start_probe()
        self.assertEqual(b.state, "half-open")
        self.assertTrue(b.record_failure(61.0))  # a failed probe reopens at once
        b.start_probe()
        b.record_connected()
        self.assertEqual((b.state, b.failures), ("closed", 6))  # counted until stable
        b.reset()
        self.assertEqual((b.state, b.failures), ("closed", 0))

    def test_threshold_zero_never_opens(self) -> None:
        b = CircuitBreaker(threshold=0)
        self.assertFalse(any(b.record_failure(0.0) for _ in range(50)))


class CloseCodesTest(unittest.TestCase):
    def test_final_codes_stop(self) -> None:
        for code in (1000, 1002, 1003, 1007, 1015, 4001, 4003, 4004, 4010, 4011, 4013, 4999):
            self.assertTrue(is_final(code), code)
        for code in (1001, 1005, 1006, 1009, 1011, 1014, 4000, 4002, 4008, 4012, 3000, 4500, 1999):
            self.assertEqual(classify(code).action, "reconnect", code)
        for code in (1008, 1012, 1013):
            self.assertEqual(classify(code).action, "reconnect-after-hint", code)
        self.assertEqual(classify(4009).action, "reconnect-now")

    def test_http_status_mapping_and_reason_hint(self) -> None:
        mapped = {s: code_for_http_status(s) for s in (400, 401, 403, 404, 426, 429, 503, 500)}
        self.assertEqual(mapped, {400: 1002, 401: 4001, 403: 4003, 404: 4004, 426: 1002, 429: 1013, 503: 1012, 500: 1006})
        self.assertEqual(retry_after_from_reason("draining retry-after=2500 bye"), 2500)
        self.assertIsNone(retry_after_from_reason("bye"))


class HealthTest(unittest.TestCase):
    def test_formula(self) -> None:
        self.assertEqual(health_score("open", 0, 0, 80), 100)
        self.assertEqual(health_score("open", 1, 2, 300), 100 - 10 - 10 - 4)
        self.assertEqual(health_score("reconnecting", 9, 9, 5000), 0)
        self.assertEqual(health_score("connecting", 0, 0, 0), 60)
        self.assertEqual(health_score("circuit-open", 0, 0, 0), 10)


if __name__ == "__main__":
    unittest.main()
