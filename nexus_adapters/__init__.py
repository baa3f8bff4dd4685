"""The outside world behind the core's ports: SQL, hashing, encryption, settings."""
