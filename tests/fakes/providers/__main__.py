"""Run the three provider fakes for a manual sandbox: ``python -m tests.fakes.providers``.

Prints each fake's base URL and the test credentials to configure gigcore with; Ctrl-C stops.
"""

from __future__ import annotations

import signal
import threading

from .adyen import TEST_HMAC_KEY, FakeAdyen
from .paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, FakePayPal
from .stripe import TEST_WEBHOOK_SECRET, FakeStripe


def main() -> None:
    fakes = [FakeStripe().start(), FakeAdyen().start(), FakePayPal().start()]
    stripe, adyen, paypal = fakes
    print(f"stripe  {stripe.base_url}  api key sk_test_anything  webhook secret {TEST_WEBHOOK_SECRET}")
    print(f"adyen   {adyen.base_url}  api key anything  merchant GigcoreTest  hmac key {TEST_HMAC_KEY}")
    print(f"paypal  {paypal.base_url}  client {CLIENT_ID} / {CLIENT_SECRET}  webhook id {WEBHOOK_ID}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    for fake in fakes:
        fake.stop()


if __name__ == "__main__":
    main()
