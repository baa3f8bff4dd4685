"""Adapters of AI services (Gemini)."""
