"""Renders docs/events.md from the catalogue, so the document cannot drift from the code."""
from __future__ import annotations

import json

from ..contracts.catalogue import CATALOGUE, EventCatalogue
from ..messaging.topology import consumer_queue_name, events_exchange

HEADER = """# Events

Generated from `shared/bimtek_shared/contracts/catalogue.py` by `bimtek-ops events-doc`; a unit
test fails when this file and the catalogue disagree. Edit the catalogue, then regenerate.

## The envelope

Every event travels as one JSON object, validated by the producer before it enters the outbox and
by every consumer before its handler runs:

| field | type | meaning |
| --- | --- | --- |
| `event_id` | UUID | unique per event; consumers deduplicate on it |
| `type` | string | past tense, `<aggregate>.<what happened>`, e.g. `participant.registered` |
| `version` | integer ≥ 1 | version of the payload schema of this type |
| `occurred_at` | RFC 3339 time with zone | when the state change was committed |
| `regency` | `NN.NN` | the tenant: Kemendagri code of the regency, e.g. `35.17` |
| `correlation_id` | string | the request id of the API call that caused it, carried through every service |
| `payload` | object | the event's data, per the schema below |

Transport: topic exchange `<producer>.events` (durable), routing key = `type`, persistent messages,
`message_id` = `event_id`. Each consumer has a durable queue `evt-<producer>-<type>--<service>.<method>`
(declared at setup, so nothing published before a consumer's first start is lost), delay queues
`<queue>.retry-<ms>ms` for its retries and `<queue>.dead` for dead letters.

Delivery is at least once: the outbox relay may publish an event twice (a crash after the broker
confirmed, before the row was stamped), and the broker may redeliver. Every consumer records
`(event_id, consumer)` in its `processed_events` table in the same transaction as its effect, so
each event takes effect exactly once. Events of one aggregate (named under "ordered by") are
published in commit order.

## Evolving an event

- Adding an optional field is compatible: same version; consumers ignore what they do not know
  only after they are updated to the new model, so add the field to the model first, deploy the
  consumers, then start sending it.
- Removing, renaming or retyping a field, or making one required, is a new version: add
  `<Type>V<n+1>` and a new catalogue entry, have the producer publish the new version while
  consumers accept both, then retire the old entry once no consumer reads it.
- Never change the meaning of a field within a version. Never put a NIK in an event: consumers
  that need identity ask the registration service.
"""


def render(catalogue: EventCatalogue = CATALOGUE) -> str:
    parts = [HEADER, "## Catalogue\n"]
    for spec in catalogue:
        parts.append(f"### `{spec.type}` v{spec.version}\n")
        parts.append(spec.description + "\n")
        parts.append(f"- Producer: `{spec.producer}` (exchange `{events_exchange(spec.producer).name}`)")
        if spec.ordered_by:
            parts.append(f"- Ordered by: `{spec.ordered_by}`")
        for consumer in spec.consumers:
            queue = consumer_queue_name(spec.producer, spec.type, consumer.service, consumer.method)
            parts.append(f"- Consumer: `{consumer.service}.{consumer.method}` (queue `{queue}`)")
        schema = spec.payload_model.model_json_schema()
        parts.append("\nPayload schema:\n\n```json\n" + json.dumps(schema, indent=2, ensure_ascii=False) + "\n```\n")
    return "\n".join(parts)
