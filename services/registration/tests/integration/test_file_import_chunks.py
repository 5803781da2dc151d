"""Registering an import's checked rows, chunk by chunk, against a real PostgreSQL (a fresh database
for this module, migrated to head and loaded with the shipped region data of Jawa Timur, dropped
afterwards): what was registered between the check and the chunk is refused row by row, found
with a fixed number of queries whatever the number of such rows."""
from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import event

from bimtek_shared.contracts.caller import Caller
from registration.domain.model import Participant, new_participant_code
from registration.service_layer import file_imports
from registration.service_layer.commands import StartFileImport
from tests.support import synthetic

pytestmark = pytest.mark.integration


JOMBANG = "35.17"


def in_process(fn, *args):  # noqa: ANN001, ANN202 - what CpuPool does, without a worker process
    return fn(*args)


def somebody(row: dict, *, nik: str, position: str, cooperative_id: uuid.UUID) -> Participant:
    return Participant(id=uuid.uuid4(), regency=JOMBANG, participant_code=new_participant_code(), nik=nik,
                       full_name="Orang Lain", sex=row["jenis_kelamin"], birth_date=row["tanggal_lahir"],
                       position=position, cooperative_id=cooperative_id)


def test_rows_taken_since_the_check_are_refused_with_one_query_for_all_positions(sessions, uow):
    rows = synthetic.team_rows(JOMBANG)[:16]  # two villages' teams of eight
    first_village, second_village = rows[0]["kode_desa"], rows[8]["kode_desa"]
    operator = Caller(user="u-operator", role="operator", regency=JOMBANG, correlation_id="test")
    answer = file_imports.start_file_import(uow, operator, StartFileImport(
        file_name="jombang.csv", content_base64=base64.b64encode(synthetic.to_csv(rows)).decode("ascii")), "35")
    job_id = uuid.UUID(answer["job"]["id"])
    with uow:
        file_imports._check(uow, in_process, uow.imports.lock_job(job_id))
        uow.commit()
    # Meanwhile, registered one by one: the first row's NIK, and the second team's ketua and sekretaris.
    others = synthetic.team_rows(JOMBANG, first_serial=500)
    with uow:
        _, served = uow.file_imports.villages_in(JOMBANG)
        uow.file_imports.add_participants([
            somebody(others[0], nik=rows[0]["nik"], position="anggota_pengurus", cooperative_id=served[first_village]),
            somebody(others[1], nik=others[1]["nik"], position="ketua", cooperative_id=served[second_village]),
            somebody(others[2], nik=others[2]["nik"], position="sekretaris", cooperative_id=served[second_village]),
        ])
        uow.commit()

    positions_queries = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "participants.position" in statement and "participants.cooperative_id IN" in statement:
            positions_queries.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        while file_imports._register_next_chunk(uow, job_id):
            pass
    finally:
        event.remove(engine, "before_cursor_execute", count)

    with uow:
        job = uow.imports.get(job_id, regency=None)
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 13, 3)
    assert [(error["item"], error["code"]) for error in job["errors"]] == [
        (2, "participant_already_registered"), (10, "import_position_held"), (13, "import_position_held")]
    assert len(positions_queries) == 1
