"""Code shared by every Bimtek KDMP service and the gateway.

- ``contracts``: the event envelope, the event catalogue and its payload schemas, error codes with
  their messages, and the caller context passed on every call. Plain Python and pydantic only, so
  the gateway and every service's domain may import it.
- ``messaging``: RabbitMQ topology, the transactional outbox relay, retries and dead letters (kombu).
- ``persistence``: the outbox and inbox tables and database helpers (SQLAlchemy).
- ``nameko_ext``: the nameko extensions that tie the above into services (never imported by the gateway).
- ``observability``: the metric names every process exports.
- ``ops``: the ``bimtek-ops`` command for operators.
"""
