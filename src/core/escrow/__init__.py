"""Escrow: contracts with milestones whose money is held, released (less the platform's
fee), refunded or split after a dispute hold; earnings clearing; payouts with
maker-checker approval. Money moves only through the ledger, by the ``Book`` port."""
