"""msgspec Structs for request and response bodies (the API.md envelopes)."""
