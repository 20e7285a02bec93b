"""Adapters: the technology on the outside of the hexagon (SQL, memory, gateways, messaging).
Each adapter package is independent of the others (import-linter)."""
