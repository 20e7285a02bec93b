"""Identity & access: users with personas, API tokens, the authorisation policy and the
audit log's verification."""
