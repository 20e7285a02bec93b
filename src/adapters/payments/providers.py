"""Building each provider's gateway and webhook verifier from the secrets, for the
composition root. Secret names (environment variables, or files of the same names):

- Stripe: ``GIGCORE_STRIPE_API_KEY``, ``GIGCORE_STRIPE_WEBHOOK_SECRETS`` (comma-separated).
- Adyen: ``GIGCORE_ADYEN_API_KEY``, ``GIGCORE_ADYEN_MERCHANT_ACCOUNT``, ``GIGCORE_ADYEN_HMAC_KEYS``
  (comma-separated hex); optional ``GIGCORE_ADYEN_LIVE_PREFIX``, ``GIGCORE_ADYEN_BALANCE_ACCOUNT``,
  ``GIGCORE_ADYEN_REPORT_API_KEY`` (the report service user's key for settlement reports;
  default the API key). ``report_cache_dir`` (the setting ``GIGCORE_ADYEN_REPORT_CACHE_DIR``,
  not a secret): where closed settlement report batches are kept.
- PayPal: ``GIGCORE_PAYPAL_CLIENT_ID``, ``GIGCORE_PAYPAL_CLIENT_SECRET``, ``GIGCORE_PAYPAL_WEBHOOK_ID``
  (comma-separated during a rotation).

Webhook secrets are read at every verification (rotation without restart); API keys when
the gateway is built. ``base_url`` points a provider at a local fake (``tests/fakes``).
Nothing here runs at import.
"""

from __future__ import annotations

import attrs

from .adyen_gateway import AdyenConfig, AdyenGateway
from .adyen_webhooks import AdyenWebhookVerifier
from .paypal_gateway import PayPalConfig, PayPalGateway
from .paypal_rest import PayPalCredentials, PayPalRest
from .paypal_webhooks import PayPalWebhookVerifier
from .secrets import Secrets, require_all, required, rotating
from .stripe_gateway import StripeConfig, StripeGateway
from .stripe_webhooks import StripeWebhookVerifier


@attrs.frozen
class StripeProvider:
    gateway: StripeGateway
    verifier: StripeWebhookVerifier


@attrs.frozen
class AdyenProvider:
    gateway: AdyenGateway
    verifier: AdyenWebhookVerifier


@attrs.frozen
class PayPalProvider:
    gateway: PayPalGateway
    verifier: PayPalWebhookVerifier


def stripe_provider(secrets: Secrets, *, sandbox: bool, base_url: str | None = None) -> StripeProvider:
    """Raises SecretMissing (naming every missing one), or ValueError when the key does not
    match ``sandbox``."""
    require_all(secrets, "GIGCORE_STRIPE_API_KEY", "GIGCORE_STRIPE_WEBHOOK_SECRETS")
    config = StripeConfig(api_key=required(secrets, "GIGCORE_STRIPE_API_KEY"), sandbox=sandbox, base_url=base_url)
    return StripeProvider(
        StripeGateway(config), StripeWebhookVerifier(rotating(secrets, "GIGCORE_STRIPE_WEBHOOK_SECRETS"))
    )


def adyen_provider(
    secrets: Secrets, *, sandbox: bool, base_url: str | None = None, report_cache_dir: str | None = None
) -> AdyenProvider:
    require_all(secrets, "GIGCORE_ADYEN_API_KEY", "GIGCORE_ADYEN_MERCHANT_ACCOUNT", "GIGCORE_ADYEN_HMAC_KEYS")
    merchant = required(secrets, "GIGCORE_ADYEN_MERCHANT_ACCOUNT")
    config = AdyenConfig(
        api_key=required(secrets, "GIGCORE_ADYEN_API_KEY"),
        merchant_account=merchant,
        sandbox=sandbox,
        base_url=base_url,
        live_endpoint_prefix=secrets.get("GIGCORE_ADYEN_LIVE_PREFIX"),
        balance_account_id=secrets.get("GIGCORE_ADYEN_BALANCE_ACCOUNT"),
        report_api_key=secrets.get("GIGCORE_ADYEN_REPORT_API_KEY"),
        report_cache_dir=report_cache_dir,
    )
    verifier = AdyenWebhookVerifier(rotating(secrets, "GIGCORE_ADYEN_HMAC_KEYS"), merchant_account=merchant)
    return AdyenProvider(AdyenGateway(config), verifier)


def paypal_provider(secrets: Secrets, *, sandbox: bool, base_url: str | None = None) -> PayPalProvider:
    require_all(secrets, "GIGCORE_PAYPAL_CLIENT_ID", "GIGCORE_PAYPAL_CLIENT_SECRET", "GIGCORE_PAYPAL_WEBHOOK_ID")
    credentials = PayPalCredentials(
        client_id=required(secrets, "GIGCORE_PAYPAL_CLIENT_ID"),
        client_secret=required(secrets, "GIGCORE_PAYPAL_CLIENT_SECRET"),
    )
    config = PayPalConfig(credentials=credentials, sandbox=sandbox, base_url=base_url)
    rest = PayPalRest(base_url=config.url, credentials=credentials)
    verifier = PayPalWebhookVerifier(rest, rotating(secrets, "GIGCORE_PAYPAL_WEBHOOK_ID"), sandbox=sandbox)
    return PayPalProvider(PayPalGateway(config, rest=rest), verifier)
