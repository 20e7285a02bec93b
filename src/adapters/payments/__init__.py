"""Payment providers behind the core's payments ports: Stripe, Adyen and PayPal gateways
on their official SDKs, their webhook verifiers, and the secrets they read.

Every module stands alone against ``core.payments.ports``; nothing here is imported by the
core. Nothing is built at import: clients are made by the constructors, from explicit
configuration (base URL, timeouts, sandbox or live).
"""
