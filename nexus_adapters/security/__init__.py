"""Password hashing, session tokens and encryption of stored secrets."""
