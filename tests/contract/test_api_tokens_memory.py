from .harness import MemoryAdapter
from .suites.api_tokens import ApiTokensContract


class TestMemoryApiTokens(MemoryAdapter, ApiTokensContract):
    pass
