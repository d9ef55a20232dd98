"""The HTTP API and the queue worker: request handling between ``app.py`` and the engine/DAL."""
