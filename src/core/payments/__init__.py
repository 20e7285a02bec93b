"""Payments: money entering the platform through a payment provider (Stripe, Adyen,
PayPal) and leaving it again as refunds, mapped onto the ledger through one gateway
clearing account per provider and currency."""
