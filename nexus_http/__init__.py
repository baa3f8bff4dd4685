"""The thin HTTP layer: Litestar app, schemas, controllers, middleware and the ``nexus`` CLI."""
