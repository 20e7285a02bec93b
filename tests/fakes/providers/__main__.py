"""Run the three provider fakes for a manual sandbox: ``python -m tests.fakes.providers``.

Prints each fake's base URL and the test credentials to configure gigcore with; Ctrl-C stops.
With ``--gigcore http://127.0.0.1:8000`` the fakes send their own signed webhooks to that
gigcore (``/v1/webhooks/<provider>``) after they charge, approve or capture, and PayPal's
approval link points at the fake itself: opening it approves the order as the payer would.
"""

from __future__ import annotations

import argparse
import signal
import threading

from .adyen import TEST_HMAC_KEY, FakeAdyen
from .paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, FakePayPal
from .stripe import TEST_WEBHOOK_SECRET, FakeStripe


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.providers")
    parser.add_argument("--gigcore", metavar="URL", help="send the fakes' webhooks to this gigcore")
    args = parser.parse_args()
    stripe, adyen, paypal = FakeStripe(), FakeAdyen(), FakePayPal()
    fakes = [stripe, adyen, paypal]
    for fake in fakes:
        fake.start()
    if args.gigcore:
        for fake in fakes:
            fake.notify_url = f"{args.gigcore.rstrip('/')}/v1/webhooks/{fake.name}"
        paypal.approval_base = paypal.base_url
    print(f"stripe  {stripe.base_url}  api key sk_test_anything  webhook secret {TEST_WEBHOOK_SECRET}")
    print(f"adyen   {adyen.base_url}  api key anything  merchant GigcoreTest  hmac key {TEST_HMAC_KEY}")
    print(f"paypal  {paypal.base_url}  client {CLIENT_ID} / {CLIENT_SECRET}  webhook id {WEBHOOK_ID}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    for fake in fakes:
        fake.stop()


if __name__ == "__main__":
    main()
