"""Notifications: in-app messages for the users an event concerns.

``NotifyParties`` consumes committed events (escrow's and the ledger's, read by name from
their envelopes) and stores one short notification per recipient, unique per (event,
recipient). Members list their own notifications, newest first, and mark them read.
"""
