import pytest

from bimtek_shared.contracts.caller import PROVINCE_WIDE, Caller, require_caller
from bimtek_shared.contracts.errors import ERRORS, DomainError, message_for


def test_every_error_has_both_languages_and_a_4xx_or_5xx_status():
    for code, spec in ERRORS.items():
        assert spec.id and spec.en and spec.id != spec.en, code
        assert 400 <= spec.status < 600, code


def test_messages_are_indonesian_by_default_and_english_on_request():
    assert message_for("participant_not_found") == "Peserta tidak ditemukan."
    assert message_for("participant_not_found", "en") == "Participant not found."
    assert "registration" in message_for("service_unavailable", "en", service="registration")
    assert message_for("nik_invalid", reason="nik_sex_mismatch") == "NIK tidak valid: jenis kelamin tidak sesuai dengan NIK."
    assert message_for("nik_invalid", "en", reason="nik_sex_mismatch") == "Invalid NIK: the sex does not match the NIK."


def test_domain_errors_travel_as_json_and_never_print_their_params():
    error = DomainError("nik_invalid", {"reason": "nik_not_16_digits"})
    assert error.args == ("nik_invalid", {"reason": "nik_not_16_digits"})
    assert str(error) == "nik_invalid"
    with pytest.raises(ValueError):
        DomainError("no_such_code")


def test_caller_context_round_trip_and_scope():
    caller = Caller(user="u1", role="regency_admin", regency="35.17", correlation_id="req-9", language="en")
    context = caller.to_context()
    assert context == {"caller_user": "u1", "caller_role": "regency_admin", "caller_regency": "35.17",
                       "correlation_id": "req-9", "language": "en"}
    assert Caller.from_context(context) == caller
    assert caller.may_access("35.17") and not caller.may_access("35.18")
    assert caller.regency_scope == "35.17"
    province = Caller(user="p", role="province_admin", regency=PROVINCE_WIDE, correlation_id="r")
    assert province.may_access("35.78") and province.regency_scope is None


def test_a_cooperative_travels_only_when_the_caller_has_one():
    operator = Caller(user="u2", role="cooperative_operator", regency="35.17", correlation_id="req-10",
                      cooperative="6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30")
    context = operator.to_context()
    assert context["caller_cooperative"] == "6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30"
    assert Caller.from_context(context) == operator
    nobody = Caller(user="u3", role="operator", regency="35.17", correlation_id="req-11")
    assert "caller_cooperative" not in nobody.to_context()
    assert Caller.from_context(nobody.to_context()).cooperative is None


def test_services_refuse_calls_without_a_caller():
    assert Caller.from_context({"correlation_id": "x"}) is None
    with pytest.raises(DomainError) as caught:
        require_caller(None)
    assert caught.value.code == "unauthenticated"


def test_a_request_key_gives_the_same_new_id_on_every_retry_and_none_gives_a_fresh_one():
    keyed = Caller(user="u", role="operator", regency="35.17", correlation_id="c", request_key="ab" * 16)
    assert keyed.new_id("venue") == keyed.new_id("venue")
    assert keyed.new_id("venue") != keyed.new_id("programme")
    assert Caller.from_context(keyed.to_context()).new_id("venue") == keyed.new_id("venue")  # it crosses RPC
    unkeyed = Caller(user="u", role="operator", regency="35.17", correlation_id="c")
    assert unkeyed.new_id("venue") != unkeyed.new_id("venue")
