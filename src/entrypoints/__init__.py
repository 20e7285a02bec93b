"""Entry points: HTTP (Litestar), the ``gigcore`` CLI, the worker, and the embedding API.

Everything is wired by ``entrypoints.container`` (the one composition root). Importing any
module here builds nothing: no engine, broker or container exists until ``build`` runs.
"""
