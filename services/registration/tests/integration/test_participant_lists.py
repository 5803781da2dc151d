"""Listing participants and bulk registrations page by page, against a real PostgreSQL with every
migration applied and 10,000 participants: order, completeness, scope, cursors, and query plans."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import sessionmaker

from bimtek_shared.contracts.caller import PROVINCE_WIDE, Caller
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.persistence.database import drop_database_if_exists, sync_url
from bimtek_shared.persistence.messaging_tables import MessagingTables
from registration.adapters.orm import metadata
from registration.service_layer import handlers
from registration.service_layer.commands import ListParticipantImports, ListParticipants, StartParticipantImport
from registration.service_layer.unit_of_work import RegistrationUnitOfWork
from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY, DEVELOPMENT_NIK_LOOKUP_KEY

pytestmark = pytest.mark.integration

SERVICE_DIR = Path(__file__).resolve().parents[2]
JOMBANG, SIDOARJO = "35.17", "35.15"
REGENCIES = [f"35.{n:02d}" for n in range(10, 20)]  # 10 regencies, 1,000 participants each
PARTICIPANTS = 10_000
COOPERATIVE = uuid.UUID("11111111-1111-4111-8111-111111111111")  # 40 of Jombang's participants
POSITIONS = ["ketua", "sekretaris", "bendahara", "anggota_pengurus", "ketua_pengawas", "anggota_pengawas"]


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    url = f"postgresql://postgres@127.0.0.1:5432/bimtek_test_lists_{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=SERVICE_DIR, check=True,
                   env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.DEVNULL)
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO provinces (code, name) VALUES ('35', 'Jawa Timur')"))
        conn.execute(text("INSERT INTO regencies (code, province_code, name, kind) "
                          "SELECT code, '35', 'Kabupaten ' || code, 'kabupaten' FROM unnest(CAST(:codes AS text[])) code"),
                     {"codes": REGENCIES})
        conn.execute(text("INSERT INTO cooperatives (id, regency, name, version, created_at, updated_at) "
                          "VALUES (:id, :regency, 'KDMP Uji', 1, now(), now())"),
                     {"id": str(COOPERATIVE), "regency": JOMBANG})
        # Made-up people: unique codes and lookups, names in no particular order. Each regency
        # registers in a burst of its own (as bulk registrations do), 30 people a minute (so many
        # share a registration time, and the id must break ties).
        conn.execute(text("""
            INSERT INTO participants (id, regency, participant_code, nik_ciphertext, nik_lookup, nik_masked,
                                      full_name, sex, birth_date, phone, position, position_group, cooperative_id,
                                      registered_at)
            SELECT gen_random_uuid(), (CAST(:regencies AS text[]))[1 + i / 1000], 'T' || lpad(i::text, 7, '0'),
                   decode(md5('c' || i), 'hex'), decode(md5('l' || i), 'hex'), '************0001',
                   'Peserta ' || md5('n' || i), CASE WHEN i % 2 = 0 THEN 'L' ELSE 'P' END, DATE '1980-01-01',
                   NULL,
                   -- The cooperative's 40 are members: one person holds each other position of a cooperative.
                   CASE WHEN i / 1000 = 7 AND i % 25 = 0 THEN 'anggota_pengurus'
                        ELSE (CAST(:positions AS text[]))[1 + i % 6] END,
                   CASE WHEN i / 1000 = 7 AND i % 25 = 0 OR i % 6 < 4 THEN 'pengurus' ELSE 'pengawas' END,
                   CASE WHEN i / 1000 = 7 AND i % 25 = 0 THEN CAST(:cooperative AS uuid) END,
                   TIMESTAMPTZ '2026-01-01 00:00:00+07' + (i / 30) * INTERVAL '1 minute'
            FROM generate_series(0, :n - 1) AS i
        """), {"regencies": REGENCIES, "positions": POSITIONS, "cooperative": str(COOPERATIVE), "n": PARTICIPANTS})
        conn.execute(text("ANALYZE participants"))
    engine.dispose()
    yield url
    drop_database_if_exists(url)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sync_url(database_url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def make_uow(engine: Engine) -> Callable[[], RegistrationUnitOfWork]:
    """Built the way the service's Database dependency builds it."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    dependencies = RegistrationUnitOfWork.dependencies_from_config(
        {"NIK_ENCRYPTION_KEY": DEVELOPMENT_NIK_ENCRYPTION_KEY, "NIK_LOOKUP_KEY": DEVELOPMENT_NIK_LOOKUP_KEY})
    return lambda: RegistrationUnitOfWork(sessions, messaging, correlation_id="test-lists", **dependencies)


def caller(role: str = "regency_admin", regency: str = JOMBANG, cooperative: str | None = None,
           user: str = "u-admin") -> Caller:
    return Caller(user=user, role=role, regency=regency, correlation_id="test-lists", cooperative=cooperative)


def list_all(make_uow, who: Caller, **query: Any) -> list[dict]:
    """Every item, following next_cursor page by page."""
    items, cursor = [], None
    while True:
        page = handlers.list_participants(make_uow(), who, ListParticipants(**query, cursor=cursor))
        assert len(page["items"]) <= page["limit"]
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def expected_ids(engine: Engine, where: str, order_by: str, **params: Any) -> list[str]:
    """The ids a list must show, straight from PostgreSQL (its collation orders the names)."""
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(
            text(f"SELECT id FROM participants WHERE {where} ORDER BY {order_by}"), params)]


@pytest.mark.parametrize("sort, order_by", [
    ("registered_at", "registered_at, id"),
    ("-registered_at", "registered_at DESC, id DESC"),
    ("full_name", "full_name, id"),
    ("-full_name", "full_name DESC, id DESC"),
])
def test_pages_cover_a_regency_once_in_order(make_uow, engine, sort, order_by):
    listed = list_all(make_uow, caller(), sort=sort, limit=200)

    assert [item["id"] for item in listed] == expected_ids(engine, "regency = :r", order_by, r=JOMBANG)
    assert len(listed) == PARTICIPANTS // len(REGENCIES)
    assert {item["regency"] for item in listed} == {JOMBANG}
    assert set(listed[0]) == {"id", "regency", "participant_code", "nik_masked", "full_name", "sex", "birth_date",
                              "phone", "position", "position_group", "cooperative_id", "registered_at", "status",
                              "replaces", "replaced_by", "withdrawn_at", "withdrawal_reason", "erased_at",
                              "updated_at"}


def test_filters_narrow_the_list(make_uow, engine):
    pengawas = list_all(make_uow, caller(), position_group="pengawas", limit=200)
    assert [i["id"] for i in pengawas] == expected_ids(
        engine, "regency = :r AND position IN ('ketua_pengawas', 'anggota_pengawas')", "registered_at, id",
        r=JOMBANG)

    ketua = list_all(make_uow, caller(), position="ketua", sort="-registered_at", limit=50)
    assert ketua and {i["position"] for i in ketua} == {"ketua"}
    assert list_all(make_uow, caller(), position="ketua", position_group="pengawas") == []

    since, until = "2026-01-02T00:00:00+07:00", "2026-01-03T00:00:00+07:00"
    window = list_all(make_uow, caller(), registered_since=since, registered_until=until, limit=30)
    assert [i["id"] for i in window] == expected_ids(
        engine, "regency = :r AND registered_at >= :s AND registered_at < :u", "registered_at, id",
        r=JOMBANG, s=since, u=until)

    members = list_all(make_uow, caller(), cooperative_id=str(COOPERATIVE), sort="full_name")
    assert [i["id"] for i in members] == expected_ids(
        engine, "regency = :r AND cooperative_id = :c", "full_name, id", r=JOMBANG, c=str(COOPERATIVE))
    assert len(members) == 40


def test_scope_regency_province_and_cooperative(make_uow):
    with pytest.raises(DomainError) as refused:
        handlers.list_participants(make_uow(), caller(), ListParticipants(regency=SIDOARJO))
    assert refused.value.code == "regency_out_of_scope"

    province = caller(role="province_admin", regency=PROVINCE_WIDE)
    everyone = list_all(make_uow, province, limit=200)
    assert len(everyone) == PARTICIPANTS and {i["regency"] for i in everyone} == set(REGENCIES)
    only_sidoarjo = list_all(make_uow, province, regency=SIDOARJO, limit=200)
    assert len(only_sidoarjo) == 1000 and {i["regency"] for i in only_sidoarjo} == {SIDOARJO}

    operator = caller(role="cooperative_operator", cooperative=str(COOPERATIVE))
    theirs = list_all(make_uow, operator, limit=7)
    assert len(theirs) == 40 and {i["cooperative_id"] for i in theirs} == {str(COOPERATIVE)}
    assert handlers.get_participant(make_uow(), operator, theirs[0]["id"])["participant"]["id"] == theirs[0]["id"]

    outsider = caller(role="cooperative_operator", cooperative=str(uuid.uuid4()))
    assert list_all(make_uow, outsider) == []
    with pytest.raises(DomainError) as hidden:
        handlers.get_participant(make_uow(), outsider, theirs[0]["id"])
    assert hidden.value.code == "participant_not_found"
    for query in (ListParticipants(cooperative_id=str(COOPERATIVE)), ListParticipants()):
        who = outsider if query.cooperative_id else caller(role="cooperative_operator")  # no cooperative known
        with pytest.raises(DomainError) as forbidden:
            handlers.list_participants(make_uow(), who, query)
        assert forbidden.value.code == "forbidden"


def test_cursors_are_sealed_and_bound_to_their_sort(make_uow):
    page = handlers.list_participants(make_uow(), caller(), ListParticipants(sort="full_name", limit=5))
    cursor = page["next_cursor"]
    last_name = page["items"][-1]["full_name"]

    assert last_name.encode() not in base64.urlsafe_b64decode(cursor + "==")  # no name in a URL, even encoded
    nxt = handlers.list_participants(make_uow(), caller(), ListParticipants(sort="full_name", limit=5, cursor=cursor))
    assert nxt["items"][0]["full_name"] >= last_name
    for bad in [ListParticipants(sort="-full_name", cursor=cursor), ListParticipants(sort="registered_at", cursor=cursor),
                ListParticipants(sort="full_name", cursor=cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")),
                ListParticipants(sort="full_name", cursor="garbage")]:
        with pytest.raises(DomainError) as refused:
            handlers.list_participants(make_uow(), caller(), bad)
        assert refused.value.code == "invalid_cursor"


def test_a_caller_lists_their_own_bulk_registrations_newest_first(make_uow):
    me, colleague = caller(user="u-me"), caller(user="u-colleague")
    row = {"nik": "3517094107850002", "full_name": "X", "sex": "P", "birth_date": "1985-07-01", "position": "ketua"}
    mine = [handlers.start_participant_import(make_uow(), me, StartParticipantImport(regency=JOMBANG, rows=[row]))["id"]
            for _ in range(3)]
    handlers.start_participant_import(make_uow(), colleague, StartParticipantImport(regency=JOMBANG, rows=[row]))

    first = handlers.list_participant_imports(make_uow(), me, ListParticipantImports(limit=2))
    rest = handlers.list_participant_imports(make_uow(), me, ListParticipantImports(limit=2, cursor=first["next_cursor"]))

    assert [j["id"] for j in first["items"] + rest["items"]] == mine[::-1]
    assert rest["next_cursor"] is None
    assert set(first["items"][0]) == {"id", "kind", "regency", "status", "total", "done", "failed", "created_at",
                                      "finished_at"}


@pytest.mark.parametrize("who, query, indexes", [
    (caller(), {"sort": "registered_at"}, ("ix_participants_regency_registered",)),
    (caller(), {"sort": "-registered_at", "position_group": "pengawas"}, ("ix_participants_regency_registered",)),
    (caller(), {"sort": "-full_name"}, ("ix_participants_regency_name",)),
    (caller(role="province_admin", regency=PROVINCE_WIDE), {"sort": "-registered_at"}, ("ix_participants_registered",)),
    (caller(role="province_admin", regency=PROVINCE_WIDE), {"sort": "full_name"}, ("ix_participants_name",)),
    (caller(role="cooperative_operator", cooperative=str(COOPERATIVE)), {},
     ("ix_participants_cooperative_registered",)),
])
def test_a_page_deep_in_the_list_is_an_index_range_read(make_uow, engine, who, query, indexes):
    """The second page's query (with a cursor) reads an index in order: no sort, no scan of the table."""
    first = handlers.list_participants(make_uow(), who, ListParticipants(limit=20, **query))
    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "FROM participants" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        handlers.list_participants(make_uow(), who, ListParticipants(limit=20, cursor=first["next_cursor"], **query))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement, parameters)
            plan = "\n".join(line for (line,) in cur.fetchall())
    finally:
        raw.close()
    print(f"\n{query} as {who.role}:\n{plan}")
    assert any(f"Index Scan using {index} " in plan or f"Index Scan Backward using {index} " in plan
               for index in indexes), plan
    assert "Sort" not in plan and "Seq Scan" not in plan, plan
