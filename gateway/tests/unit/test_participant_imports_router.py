"""How the bulk import router reads its form options and reports a job."""
from __future__ import annotations

import pytest

from bimtek_gateway.problems import Problem
from bimtek_gateway.routers.participant_imports import _flag, present_job, progress_of


@pytest.mark.parametrize("value, flag", [(None, False), ("", False), ("false", False), ("0", False),
                                         ("true", True), ("TRUE", True), ("1", True), ("ya", True)])
def test_form_flags(value: str | None, flag: bool) -> None:
    assert _flag("dry_run", value) is flag


def test_a_flag_that_is_neither_is_refused() -> None:
    with pytest.raises(Problem) as problem:
        _flag("dry_run", "mungkin")
    assert problem.value.code == "validation_failed"


@pytest.mark.parametrize("status, total, done, failed, progress", [
    ("queued", 0, 0, 0, 0.0),  # a file's rows are not counted yet
    ("running", 0, 0, 0, 0.0),
    ("running", 2448, 1000, 0, 0.4085),
    ("failed", 0, 0, 0, 1.0),  # refused as a whole
    ("succeeded", 10, 9, 1, 1.0),
])
def test_progress(status: str, total: int, done: int, failed: int, progress: float) -> None:
    assert progress_of({"status": status, "total": total, "done": done, "failed": failed}) == progress


def test_errors_are_explained_by_row_and_column_in_the_callers_language() -> None:
    job = {"status": "failed", "total": 2, "done": 0, "failed": 1, "errors": [
        {"item": 3, "column": "jabatan", "code": "import_value_invalid", "params": {"reason": "position_unknown"}}]}
    error = present_job(job, "en")["errors"][0]
    assert (error["item"], error["column"]) == (3, "jabatan")
    assert error["message"] == ("The value in column jabatan is invalid: unknown position; "
                                "see the Jabatan sheet of the template.")
    assert present_job(job, "id")["errors"][0]["message"].startswith("Isi kolom jabatan tidak valid: jabatan tidak dikenal")
