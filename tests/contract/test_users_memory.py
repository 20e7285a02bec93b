from .harness import MemoryAdapter
from .suites.users import UsersContract


class TestMemoryUsers(MemoryAdapter, UsersContract):
    pass
