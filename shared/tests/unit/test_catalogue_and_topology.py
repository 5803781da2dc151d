from pathlib import Path

import pytest

from bimtek_shared.contracts.catalogue import CATALOGUE, EventCatalogue, EventSpec, Subscription
from bimtek_shared.contracts.errors import ContractViolation
from bimtek_shared.contracts.events import ParticipantRegisteredV1
from bimtek_shared.messaging.topology import all_consumer_queues, consumer_queues
from bimtek_shared.ops import events_doc

REPO = Path(__file__).resolve().parents[3]


def test_every_event_has_a_consumer_so_mandatory_publishing_can_route_it():
    for spec in CATALOGUE:
        assert spec.consumers, f"{spec.type} has no consumer: the relay's mandatory publish would bounce"


IRREGULAR_PAST = {"withdrawn"}


def test_event_types_are_past_tense_and_producers_are_services():
    for spec in CATALOGUE:
        what = spec.type.split(".")[-1]
        assert what.endswith("ed") or what in IRREGULAR_PAST, spec.type
        assert spec.producer in {"registration", "scheduling", "certificates"}


def test_consumer_queue_names_follow_nameko_conventions():
    queues = consumer_queues("registration", "participant.registered",
                             Subscription("scheduling", "handle_participant_registered"), (1000, 5000))
    assert queues.main.name == "evt-registration-participant.registered--scheduling.handle_participant_registered"
    assert queues.main.exchange.name == "registration.events"
    assert queues.main.routing_key == "participant.registered"
    assert queues.main.durable and not queues.main.auto_delete
    assert [q.name for q in queues.retries] == [queues.main.name + ".retry-1000ms", queues.main.name + ".retry-5000ms"]
    # Each delay queue hands its messages back to the consumer queue when their time is up.
    assert queues.retries[0].queue_arguments == {
        "x-message-ttl": 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queues.main.name}
    assert queues.dead.name == queues.main.name + ".dead"


def test_every_subscription_gets_its_queues():
    names = {q.name for q in all_consumer_queues((1000,))}
    assert len(names) == sum(len(spec.consumers) for spec in CATALOGUE)


def test_a_consumer_missing_from_the_catalogue_is_refused():
    with pytest.raises(ContractViolation):
        CATALOGUE.subscription_of("participant.registered", "scheduling", "some_other_method")


def test_conflicting_registration_is_refused():
    catalogue = EventCatalogue()
    spec = EventSpec("x.happened", 1, "registration", ParticipantRegisteredV1, "d", (Subscription("a", "b"),))
    catalogue.register(spec)
    catalogue.register(spec)  # the same again is fine
    with pytest.raises(ValueError):
        catalogue.register(EventSpec("x.happened", 1, "scheduling", ParticipantRegisteredV1, "d"))
    assert catalogue.latest_version("x.happened") == 1


def test_docs_events_md_is_generated_from_the_catalogue():
    committed = (REPO / "docs" / "events.md").read_text()
    assert committed == events_doc.render(), "docs/events.md is stale: run `bimtek-ops events-doc > docs/events.md`"
