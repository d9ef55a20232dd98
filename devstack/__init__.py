"""The local stack: moto server, tables and queues, ``chalice local`` and the local SQS queue worker.

``python -m devstack.run`` (``make run``) starts everything; ``devstack.stack.DevStack`` is the same
orchestration as a context manager for the integration tests and the burst benchmark;
``python -m devstack.sqs_poller`` is the queue worker that stands in for Lambda's SQS event source
mapping (Chalice itself never runs event handlers locally). Development-only code: nothing here is
packaged for Lambda.
"""
