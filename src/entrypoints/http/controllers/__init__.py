"""Thin route handlers: parse, build the command, call the use case, shape the response."""
