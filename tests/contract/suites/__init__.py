"""Abstract contract suites. No ``Test`` prefix, so pytest collects them only through
the per-adapter subclasses in ``tests/contract/test_<port>_<adapter>.py``."""
