"""Nexus Communicator's domain: entities, rules, use cases and the ports they need.

Standard library (plus ``phonenumbers``) only, so the business rules run and are tested
without a database or a web server.
"""
