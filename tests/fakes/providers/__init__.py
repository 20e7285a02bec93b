"""Fakes of the payment providers' HTTP APIs on 127.0.0.1 (see ``base``)."""

from .adyen import FakeAdyen
from .base import FakeProvider, Fault, Movement
from .paypal import FakePayPal
from .stripe import FakeStripe

__all__ = ["FakeAdyen", "FakePayPal", "FakeProvider", "FakeStripe", "Fault", "Movement"]
