"""The certificate download routes' own rules, with stand-ins for the services: archives are
streamed batch by batch, a kecamatan is its cooperatives one after another, nothing but the
certificates service is asked for what a certificate prints, and what it refuses or cannot print
becomes the right problem. The real services answer in tests/integration/test_certificate_downloads.py."""
import base64
import io
import uuid
import zipfile
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_caller, get_services
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.routers import certificate_documents
from bimtek_shared.contracts.caller import Caller

COOPERATIVES = [str(uuid.UUID(int=1000 + n)) for n in range(3)]
SESSION = str(uuid.UUID(int=7))
CERTIFICATES = {coop: [{"id": str(uuid.UUID(int=100 * n + k)), "number": f"{100 * n + k:04d}/BIMTEK-KDMP/35.17/2025",
                        "cooperative_id": coop, "session_id": SESSION} for k in range(1, 46)]
                for n, coop in enumerate(COOPERATIVES, start=1)}  # 45 each: three batches of at most 20
BY_ID = {item["id"]: item for items in CERTIFICATES.values() for item in items}
REVOKED = CERTIFICATES[COOPERATIVES[0]][0]["id"]


def cooperative_view(coop: str) -> dict[str, Any]:
    return {"id": coop, "regency": "35.17", "name": f"Koperasi Desa Merah Putih {coop[-2:]}"}


class ServicesStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        self.calls.append((service, method, kwargs))
        if method == "list_certificates":
            query = kwargs["query"]
            if "certificate_id" in query:
                item = BY_ID.get(query["certificate_id"])
                return {"items": [item] if item else [], "next_after": None}
            items = (CERTIFICATES[query["cooperative_id"]] if "cooperative_id" in query
                     else [i for items in CERTIFICATES.values() for i in items])
            after = query.get("after")
            start = next((n + 1 for n, item in enumerate(items) if item["id"] == after), 0) if after else 0
            page = items[start:start + 30]  # pages of 30 here, whatever was asked
            return {"items": page, "next_after": page[-1]["id"] if start + 30 < len(items) else None}
        if method == "render_certificates":
            assert len(kwargs["certificate_ids"]) <= certificate_documents.BATCH
            files = []
            for cid in kwargs["certificate_ids"]:
                item = BY_ID.get(cid)
                if item is None:
                    files.append({"id": cid, "status": "not_found"})
                elif cid == REVOKED:
                    files.append({"id": cid, "number": item["number"], "status": "not_printable",
                                  "certificate_status": "revoked"})
                else:
                    printed = f"%PDF {item['number']}"
                    files.append({"id": cid, "number": item["number"], "status": "rendered",
                                  "content_base64": base64.b64encode(printed.encode()).decode()})
            return {"files": files}
        if method == "render_session_certificates":
            return {"pages": 2, "content_base64": base64.b64encode(b"%PDF session").decode()}
        if method == "list_cooperatives":
            cursor = kwargs["query"].get("cursor")
            if cursor is None:
                return {"items": [cooperative_view(c) for c in COOPERATIVES[:2]], "next_cursor": "second", "limit": 2}
            return {"items": [cooperative_view(COOPERATIVES[2])], "next_cursor": None, "limit": 2}
        if method == "get_session":
            return {"id": SESSION, "venue": {"id": "v", "name": "Aula Dinas Koperasi"}}
        raise AssertionError(method)


def client(role: str, cooperative: str | None = None) -> tuple[TestClient, ServicesStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(certificate_documents.router)
    services = ServicesStandIn()
    caller = Caller(user="u-1", role=role, regency="35.17", correlation_id="r", cooperative=cooperative)
    app.dependency_overrides[get_caller] = lambda: caller
    app.dependency_overrides[get_services] = lambda: services
    return TestClient(app), services


def archive_of(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_a_kecamatan_archive_holds_its_cooperatives_certificates_in_batches() -> None:
    http, services = client("regency_admin")
    archive = archive_of(http.get("/api/v1/certificate-archives", params={"district": "35.17.09"}))
    expected = [item for coop in COOPERATIVES for item in CERTIFICATES[coop] if item["id"] != REVOKED]
    assert archive.namelist() == [certificate_documents.file_name(item["number"]) for item in expected]
    first = archive.read(archive.namelist()[0]).decode()
    assert first == f"%PDF {expected[0]['number']}"
    methods = [method for _, method, _ in services.calls]
    assert methods.count("render_certificates") == 3 * 3  # 45 a cooperative: pages of 30 in batches of 20
    # Registration only says which cooperatives the kecamatan has; the names printed are certificates' own.
    assert {method for service, method, _ in services.calls if service != "certificates"} == {"list_cooperatives"}


def test_a_file_is_named_by_its_number_never_by_a_name() -> None:
    assert certificate_documents.file_name("0001/BIMTEK-KDMP/35.17/2025") == "0001-BIMTEK-KDMP-35.17-2025.pdf"


def test_an_archive_names_exactly_one_scope() -> None:
    http, _ = client("operator")
    for params in ({}, {"district": "35.17.09", "session_id": SESSION}):
        response = http.get("/api/v1/certificate-archives", params=params)
        assert response.status_code == 422
        assert response.json()["code"] == "certificate_archive_scope"


def test_a_refusal_before_the_first_entry_is_a_problem_not_a_broken_archive() -> None:
    http, services = client("operator")

    async def refuse(service: str, method: str, **kwargs: Any) -> Any:
        from bimtek_gateway.rpc import ServiceUnavailable
        raise ServiceUnavailable("certificates")

    services.call = refuse
    response = http.get("/api/v1/certificate-archives", params={"session_id": SESSION})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")


def test_one_certificate_as_a_pdf_and_the_problems_around_it() -> None:
    http, _ = client("operator")
    item = CERTIFICATES[COOPERATIVES[1]][3]
    response = http.get(f"/api/v1/certificates/{item['id']}/document")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert item["number"].encode() in response.content
    assert http.get(f"/api/v1/certificates/{uuid.uuid4()}/document").json()["code"] == "certificate_not_found"
    revoked = http.get(f"/api/v1/certificates/{REVOKED}/document")
    assert revoked.status_code == 409 and revoked.json()["code"] == "certificate_not_printable"


def test_a_participant_s_certificate_is_asked_of_certificates_alone_as_themself() -> None:
    http, services = client("participant")
    item = CERTIFICATES[COOPERATIVES[2]][0]
    assert http.get(f"/api/v1/certificates/{item['id']}/document").status_code == 200
    # No borrowed identity and no name look-ups elsewhere: the names printed are certificates' own.
    assert [(service, method) for service, method, _ in services.calls] == [("certificates", "render_certificates")]


def test_a_session_pdf_is_for_staff_only() -> None:
    http, _ = client("operator")
    response = http.get(f"/api/v1/sessions/{SESSION}/certificates.pdf")
    assert response.status_code == 200 and response.content == b"%PDF session"
    for role in ("cooperative_operator", "participant", "trainer"):
        assert client(role)[0].get(f"/api/v1/sessions/{SESSION}/certificates.pdf").status_code == 403


def test_trainers_do_not_download_certificates() -> None:
    http, _ = client("trainer")
    assert http.get("/api/v1/certificate-archives", params={"session_id": SESSION}).status_code == 403
