"""The object-level rule for wallets: owners see their own, staff with read-any see all,
and nobody learns that someone else's wallet exists."""

from __future__ import annotations

from core.ledger.domain import Account, AccountKind, AccountNotFound, Actions, WalletNotFound
from core.ledger.ports import Accounts
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.ids import AccountId


def may_see(actor: Actor, account: Account, authorizer: Authorizer) -> bool:
    if account.kind is not AccountKind.WALLET:
        return False
    if account.owner_id == actor.id:
        return True
    return authorizer.allows(actor, Actions.READ_ANY_WALLET)


def visible_wallet(accounts: Accounts, actor: Actor, wallet_id: AccountId, authorizer: Authorizer) -> Account:
    """Raises WalletNotFound for a missing wallet and for one the actor may not see alike."""
    try:
        account = accounts.get(wallet_id)
    except AccountNotFound:
        raise WalletNotFound(wallet_id) from None
    if not may_see(actor, account, authorizer):
        raise WalletNotFound(wallet_id)
    return account


def lock_wallet(
    accounts: Accounts, actor: Actor, wallet_id: AccountId, any_action: str, authorizer: Authorizer
) -> Account:
    """Lock a wallet the actor may move money on: their own, or any if they hold
    ``any_action``. Raises WalletNotFound for a missing wallet and a foreign one alike."""
    try:
        account = accounts.lock([wallet_id])[wallet_id]
    except AccountNotFound:
        raise WalletNotFound(wallet_id) from None
    if account.kind is not AccountKind.WALLET:
        raise WalletNotFound(wallet_id)
    if account.owner_id != actor.id and not authorizer.allows(actor, any_action):
        raise WalletNotFound(wallet_id)
    return account
