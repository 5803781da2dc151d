"""Bulk registration: accepted at once as a job (202), registered in the background, polled for progress."""
from __future__ import annotations

import asyncio
import base64
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile

from bimtek_shared.contracts.caller import Caller

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.errors import message_for
from bimtek_shared.contracts.pagination import Page

from ..dependencies import Registrar, Services, ServicesFor, target_regency
from ..pagination import ListQuery, sort_by
from ..problems import Problem, language_of
from ..schemas.jobs import JobOut, JobSummaryOut
from ..schemas.participants import ParticipantIn

ROW_EXAMPLE = ParticipantIn.model_config["json_schema_extra"]["examples"][0]

MAX_ROWS = 20_000
router = APIRouter(prefix="/api/v1/participant-imports", tags=["participants"])


class ParticipantImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Defaults to the caller's own regency")
    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ROWS,
        description="Participants as in POST /api/v1/participants (without regency). Rows are checked one "
                    "by one when the job runs: a bad row is reported in the job's errors, the others go on.",
        examples=[[ROW_EXAMPLE]],
    )


FILE_FIELDS = {
    "file": {"type": "string", "format": "binary",
             "description": "XLSX or CSV (UTF-8, comma or semicolon), one row per person, Indonesian headings: "
                            "see GET /api/v1/participant-imports/template.xlsx"},
    "regency": {"type": "string", "pattern": REGENCY_CODE_PATTERN,
                "description": "Defaults to the caller's own regency; a province administrator who names "
                               "none imports a province-wide file (each row's village names its regency)"},
    "dry_run": {"type": "boolean", "default": False,
                "description": "Check every row and report, import nothing"},
    "import_valid_rows_only": {"type": "boolean", "default": False,
                               "description": "Import the valid rows even if some are wrong (by default "
                                              "nothing is imported when any row is wrong)"},
}
START_IMPORT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": FILE_FIELDS, "required": ["file"],
                                           "additionalProperties": False}},
        "application/json": {"schema": ParticipantImportIn.model_json_schema(ref_template="#/components/schemas/{model}")},
    },
}
TEMPLATE_MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
_TRUE, _FALSE = {"true", "1", "yes", "ya", "on"}, {"false", "0", "no", "tidak", "off", ""}


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, summary="Register many participants",
    openapi_extra={"requestBody": START_IMPORT_BODY},
    responses={200: {"model": JobOut, "description": "The same file was imported into the same scope before: "
                                                     "its first job (Location), nothing imported again"}},
)
async def start_import(caller: Registrar, services: ServicesFor, request: Request, response: Response) -> dict[str, Any]:
    """A file (multipart, field `file`): its rows are all checked first; errors come back in the job
    per row and column. By default nothing is imported when any row is wrong. Each row names its
    cooperative by its village (`kode_desa`): the cooperative serving it, or a new one for it.

    JSON (`rows`, as in POST /api/v1/participants): rows are registered one by one, a bad row
    reported in the job's errors while the others go on.

    Either way the answer is 202 with the job (`Location`), to poll until it is `succeeded` or `failed`."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _start_file_import(caller, services, request, response)
    try:
        body = ParticipantImportIn.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    regency = target_regency(body.regency, caller)
    job = await services.call("registration", "start_participant_import", regency=regency, rows=body.rows)
    response.headers["Location"] = f"{router.prefix}/{job['id']}"
    return present_job(job, language_of(request))


async def _start_file_import(caller: Caller, services: Services, request: Request,
                             response: Response) -> dict[str, Any]:
    async with request.form(max_files=1, max_fields=len(FILE_FIELDS)) as form:
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise Problem("validation_failed", errors=[{"field": "file", "message": "a file is required"}])
        options = {name: _flag(name, form.get(name)) for name in ("dry_run", "import_valid_rows_only")}
        regency = form.get("regency")
        if regency is not None and (not isinstance(regency, str) or not re.fullmatch(REGENCY_CODE_PATTERN, regency)):
            raise Problem("validation_failed", errors=[{"field": "regency", "message": "a regency code like 35.17"}])
        if regency and not caller.may_access(regency):
            raise Problem("regency_out_of_scope")
        content = await upload.read()
        file_name = upload.filename or ""
    if not content:
        raise Problem("import_file_empty")
    # A province's file is megabytes: encoded off the event loop.
    encoded = (await asyncio.to_thread(base64.b64encode, content)).decode("ascii")
    answer = await services.call("registration", "start_participant_file_import", upload={
        "regency": regency or None, "file_name": file_name[-255:], "content_base64": encoded, **options})
    job = answer["job"]
    response.headers["Location"] = f"{router.prefix}/{job['id']}"
    if answer["already_uploaded"]:
        response.status_code = status.HTTP_200_OK
    return present_job(job, language_of(request))


def _flag(name: str, value: Any) -> bool:
    text = (value if isinstance(value, str) else "").strip().lower()
    if value is None or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise Problem("validation_failed", errors=[{"field": name, "message": "true or false"}])


@router.get("/template.{file_format}", summary="The import file template (XLSX or CSV)",
            response_class=Response,
            responses={200: {"content": {media_type: {} for media_type in TEMPLATE_MEDIA_TYPES.values()},
                             "description": "Headings, one example row; the XLSX also lists the accepted "
                                            "position names (sheet Jabatan) and explains each column"}})
async def template(file_format: Literal["xlsx", "csv"], caller: Registrar, services: ServicesFor) -> Response:
    answer = await services.call("registration", "participant_import_template", file_format=file_format)
    return Response(base64.b64decode(answer["content_base64"]), media_type=TEMPLATE_MEDIA_TYPES[file_format],
                    headers={"Content-Disposition": f'attachment; filename="{answer["file_name"]}"'})


class ParticipantImportListQuery(ListQuery):
    sort: sort_by("created_at") = "-created_at"  # type: ignore[valid-type]


@router.get("", response_model=Page[JobSummaryOut], summary="Your bulk registrations, newest first")
async def list_imports(query: Annotated[ParticipantImportListQuery, Query()], caller: Registrar,
                       services: ServicesFor) -> dict[str, Any]:
    """The bulk registrations you started (in your regency), a page at a time, without their
    errors: each one's own page has those."""
    page = await services.call("registration", "list_participant_imports", query=query.to_rpc())
    return {**page, "items": [{**job, "progress": progress_of(job)} for job in page["items"]]}


@router.get("/{job_id}", response_model=JobOut, summary="Progress and outcome of a bulk registration")
async def get_import(job_id: uuid.UUID, caller: Registrar, services: ServicesFor, request: Request) -> dict[str, Any]:
    job = await services.call("registration", "get_participant_import", job_id=str(job_id))
    return present_job(job, language_of(request))


def present_job(job: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        **job,
        "progress": progress_of(job),
        "errors": [
            {**error, "message": message_for(error["code"], language, **_message_params(error))}
            for error in job["errors"]
        ],
    }


def _message_params(error: dict[str, Any]) -> dict[str, Any]:
    """An error's params, and the column of an import file it names (its messages say which)."""
    params = dict(error.get("params", {}))
    if error.get("column"):
        params.setdefault("column", error["column"])
    return params


def progress_of(job: dict[str, Any]) -> float:
    if not job["total"]:  # a file's rows are counted once it is read
        return 1.0 if job["status"] in ("succeeded", "failed") else 0.0
    handled = job["done"] + job["failed"]
    return round(handled / job["total"], 4)
