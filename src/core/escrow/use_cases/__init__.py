"""One module per use case: ``<verb>_<noun>.py`` holds its command, result and class.
``access`` (object-level rules), ``movements`` (money leaving escrow) and
``timer_claims`` (firing a timer once) are shared by several use cases."""
