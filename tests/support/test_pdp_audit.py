"""The personal-data audit's search (tests/support/pdp_audit.py) sees every spelling of a NIK, name or
phone number it may meet, inside broker bodies too, and nothing else. No server needed."""
from __future__ import annotations

import base64
import io
import json
import logging
import zipfile
from urllib.parse import quote, quote_plus

from bimtek_shared.observability.logs import configure_logging
from tests.support.pdp_audit import (
    Needles, Person, TracedMessage, body_texts, line_texts, people_in_registration_calls,
)

SITI = Person("3517094107850002", "Siti Aminah", "0812-3300-1234")
BERNADETTE = Person("3517091503800003", "Bérnadètte Ma’ruf", "+62 857 1111 2222")
NEEDLES = Needles([SITI, BERNADETTE])


def kinds(text: str) -> list[str]:
    return sorted(kind for kind, _ in NEEDLES.find(text))


def test_a_nik_is_found_alone_in_json_and_inside_longer_digit_runs() -> None:
    assert kinds("nik=3517094107850002") == ["nik"]
    assert kinds(json.dumps({"nik": SITI.nik})) == ["nik"]
    assert kinds("99" + SITI.nik + "7") == ["nik"]
    assert kinds("************0002 351709410785000") == []  # masked, and one digit short


def test_a_phone_number_is_found_in_any_spelling() -> None:
    for spelling in ("0812-3300-1234", "081233001234", "+6281233001234", "62 812 3300 1234", "(0812) 3300.1234",
                     "%2B6281233001234", "+62 857-1111-2222"):
        assert kinds(f"x {spelling} y") == ["phone"], spelling
    assert kinds("0812-3300-1235") == [] and kinds("2026-11-28 08:12:33,001") == []


def test_a_name_is_found_in_any_case_escaped_or_encoded() -> None:
    name = BERNADETTE.full_name
    for spelling in (name, name.upper(), json.dumps(name)[1:-1], repr(name.encode())[2:-1], quote(name),
                     quote_plus(name), "siti aminah"):
        assert kinds(f"[{spelling}]") == ["name"], spelling
    assert kinds("Siti Aminahwati") == [] and kinds("Siti") == []


def test_broker_bodies_are_searched_through_base64_and_zip() -> None:
    sheet = io.BytesIO()
    with zipfile.ZipFile(sheet, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", f"<sst><si><t>{SITI.nik}</t></si><si><t>{SITI.full_name}</t></si></sst>")
    body = json.dumps({"args": [], "kwargs": {"upload": {"content_base64": base64.b64encode(sheet.getvalue()).decode()}}})
    message = TracedMessage("publish.nameko-rpc", "nameko-rpc", ["registration.start_participant_file_import"],
                            {"content_type": "application/json"}, body.encode())
    assert message.carries_new_registration
    texts = body_texts(message, pdf_text=None)
    assert texts.attachments["zip"] == 1
    assert sorted(kind for text in texts.texts for kind, _ in NEEDLES.find(text)) == ["name", "nik"]
    assert kinds(" ".join(line_texts("printed " + base64.b64encode(SITI.nik.encode() * 4).decode(), None).texts)) \
        == ["nik"] * 4


def test_only_requests_to_register_are_carriers() -> None:
    reply = TracedMessage("deliver.rpc.reply-gateway-6f1c", "nameko-rpc", ["0b6f3a52-95f2-4b8e-9a57-3e0f4b1c2d3e"],
                          {}, b"{}")
    event = TracedMessage("publish.registration.events", "registration.events", ["participant.registered"], {}, b"{}")
    assert not reply.carries_new_registration and not event.carries_new_registration
    assert reply.route == "deliver rpc.reply-gateway-6f1c (*)"


def test_the_people_a_workload_registered_are_read_off_its_registration_calls() -> None:
    body = json.dumps({"args": [], "kwargs": {"participant": {"nik": SITI.nik, "full_name": SITI.full_name,
                                                              "phone": SITI.phone, "position": "ketua"}}}).encode()
    request = TracedMessage("publish.nameko-rpc", "nameko-rpc", ["registration.register_participant"], {}, body)
    delivered = TracedMessage("deliver.rpc-registration", "nameko-rpc", ["registration.register_participant"], {}, body)
    other = TracedMessage("publish.nameko-rpc", "nameko-rpc", ["registration.update_participant"], {}, body)
    assert people_in_registration_calls([request, delivered, other]) == [SITI]


def test_debug_logging_leaves_the_amqp_wire_out() -> None:
    """aiormq prints every frame at DEBUG, message bodies with NIKs included (found by the audit)."""
    root, touched = logging.getLogger(), [logging.getLogger(name) for name in ("aiormq", "nameko.containers")]
    saved = root.level, root.handlers[:], [logger.level for logger in touched]
    configure_logging("test", "DEBUG")
    try:
        assert logging.getLogger("bimtek_gateway.rpc").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("aiormq.connection").isEnabledFor(logging.DEBUG)
    finally:  # the process's logging as it was, for the tests after this one
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for logger, level in zip(touched, saved[2]):
            logger.setLevel(level)
