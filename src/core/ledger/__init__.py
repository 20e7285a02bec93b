"""Ledger & wallets: accounts, balanced journal entries, balances and statements."""
