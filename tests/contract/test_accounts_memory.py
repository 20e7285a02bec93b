from .harness import MemoryAdapter
from .suites.accounts import AccountsContract


class TestMemoryAccounts(MemoryAdapter, AccountsContract):
    pass
