"""Signed webhooks: events written in the transaction of the change they describe (an
outbox), POSTed in batches by a dispatcher that runs in the worker process."""
