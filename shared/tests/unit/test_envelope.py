import uuid
from datetime import datetime, timezone

import pytest

from bimtek_shared.contracts.envelope import EventEnvelope, new_event, parse_event
from bimtek_shared.contracts.errors import ContractViolation


def registered_payload(**overrides):
    payload = {
        "participant_id": str(uuid.uuid4()),
        "participant_code": "ABCD2345",
        "full_name": "Siti Aminah",
        "sex": "P",
        "position_group": "pengurus",
        "position": "ketua",
        "registered_at": datetime.now(timezone.utc).isoformat(),
    }
    return payload | overrides


def test_new_event_fills_the_envelope_and_round_trips():
    event = new_event("participant.registered", registered_payload(), regency="35.17", correlation_id="req-1")
    assert event.version == 1
    assert event.occurred_at.tzinfo is not None
    parsed = parse_event(event.to_json())
    assert parsed == event


@pytest.mark.parametrize("field,value", [("sex", "X"), ("position_group", "direksi"), ("full_name", "")])
def test_publishing_refuses_a_payload_that_breaks_its_schema(field, value):
    with pytest.raises(ContractViolation):
        new_event("participant.registered", registered_payload(**{field: value}), regency="35.17", correlation_id="r")


def test_publishing_refuses_unknown_fields_and_unknown_events():
    with pytest.raises(ContractViolation):
        new_event("participant.registered", registered_payload(nik="3517094107850002"), regency="35.17",
                  correlation_id="r")
    with pytest.raises(ContractViolation):
        new_event("participant.teleported", {}, regency="35.17", correlation_id="r")


@pytest.mark.parametrize("regency", ["3517", "35.1", "35.17.09", ""])
def test_the_tenant_must_be_a_regency_code(regency):
    with pytest.raises(ContractViolation):
        new_event("participant.registered", registered_payload(), regency=regency, correlation_id="r")


def test_consuming_validates_envelope_and_payload():
    good = new_event("participant.registered", registered_payload(), regency="35.17", correlation_id="r").to_dict()
    for broken in (
        {k: v for k, v in good.items() if k != "regency"},
        good | {"occurred_at": "2026-01-01T00:00:00"},  # no time zone
        good | {"payload": {**good["payload"], "sex": "?"}},
        good | {"version": 99},
        good | {"surprise": 1},
    ):
        with pytest.raises(ContractViolation):
            parse_event(broken)
    with pytest.raises(ContractViolation):
        parse_event(b"not json")


def test_violation_messages_do_not_echo_input_values():
    secret_name = "Nama Rahasia Sekali"
    with pytest.raises(ContractViolation) as caught:
        new_event("participant.registered", registered_payload(full_name=secret_name, sex="?"),
                  regency="35.17", correlation_id="r")
    assert secret_name not in str(caught.value)
    assert "sex" in str(caught.value)


def test_envelope_is_immutable():
    event = new_event("participant.registered", registered_payload(), regency="35.17", correlation_id="r")
    with pytest.raises(Exception):
        event.regency = "35.18"  # type: ignore[misc]
    assert isinstance(event, EventEnvelope)
