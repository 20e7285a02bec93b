"""One module per use case: ``<verb>_<noun>.py`` holds its command, result and class."""
