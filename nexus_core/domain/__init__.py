"""Entities, value objects and rules, one module per concept."""
