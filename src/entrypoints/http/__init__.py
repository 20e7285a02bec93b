"""The Litestar HTTP entry point: ``create_app(runtime)`` in ``app.py``, thin controllers over
the use cases, RFC 9457 problem responses, and the OpenAPI document (``openapi.py``).

Importing this package builds nothing; ``app_factory`` is for ``uvicorn --factory``.
"""
