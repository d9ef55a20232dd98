"""Service logic: decisions, asynchronous applications, the queue worker, idempotency, health.
Imports the DAL protocols and the engine, never HTTP."""
