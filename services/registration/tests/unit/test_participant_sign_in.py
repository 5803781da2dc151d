"""Signing in with a participant code: the one use case that runs without a caller."""
import uuid
from datetime import date

import pytest

from bimtek_shared.contracts.errors import DomainError
from registration.domain.model import CODE_ALPHABET, new_participant_code, normalise_participant_code
from registration.service_layer import handlers
from registration.service_layer.commands import AuthenticateParticipant, parse_command

PARTICIPANT_ID = uuid.uuid4()
BIRTH_DATE = date(1985, 7, 1)


class OneParticipant:
    """Stands in for the unit of work: a repository holding one participant, coded K7QM3XPA."""

    def __init__(self) -> None:
        self.participants = self
        self.looked_up: list[str] = []

    def __enter__(self) -> "OneParticipant":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def find_by_code(self, code: str) -> dict | None:
        self.looked_up.append(code)
        if code != "K7QM3XPA":
            return None
        return {"id": PARTICIPANT_ID, "regency": "35.17", "cooperative_id": None, "birth_date": BIRTH_DATE,
                "full_name": "never to be returned"}


def sign_in(code: str, birth_date: str) -> dict:
    command = parse_command(AuthenticateParticipant, {"participant_code": code, "birth_date": birth_date})
    return handlers.authenticate_participant(OneParticipant(), command)


def test_codes_are_read_as_printed_whatever_the_case_and_spacing():
    assert normalise_participant_code(" k7qm 3xpa ") == "K7QM3XPA"
    assert normalise_participant_code("K7QM-3XPA") == "K7QM3XPA"
    code = new_participant_code()
    assert normalise_participant_code(code.lower()) == code and set(code) <= set(CODE_ALPHABET)


def test_the_right_code_and_date_answer_only_what_a_token_needs():
    assert sign_in("k7qm3xpa", "1985-07-01") == {
        "participant_id": str(PARTICIPANT_ID), "regency": "35.17", "cooperative_id": None}


@pytest.mark.parametrize("code,birth_date", [("K7QM3XPA", "1985-07-02"), ("ZZZZ2222", "1985-07-01")])
def test_an_unknown_code_and_a_wrong_date_fail_alike(code, birth_date):
    with pytest.raises(DomainError) as refused:
        sign_in(code, birth_date)
    assert refused.value.code == "invalid_credentials" and refused.value.params == {}


def test_malformed_input_is_refused_without_echoing_it():
    with pytest.raises(DomainError) as refused:
        sign_in("K7QM3XPA", "01-07-1985")
    assert refused.value.code == "validation_failed" and "01-07-1985" not in str(refused.value.params)
