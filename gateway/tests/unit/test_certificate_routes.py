"""The certificate routes' own rules with a stand-in for the certificates service: public
verification needs no sign-in and escapes what people typed, speaks Indonesian or English, shows
revoked and superseded certificates for what they are; revocation is for administrators only. The
real service answers in tests/integration/test_certificates.py at the repository root."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_caller, get_services, get_services_before_sign_in
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.routers import certificates, public_certificates
from bimtek_gateway.rpc import RemoteError
from bimtek_shared.contracts.caller import Caller

ID = "6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30"
PUBLIC_ID = "q3Zr8Jx0yQk2W5m1n7P4sA"
NEWER = "Vb3Yx9Qk2W5m1n7P4sAq3Z"


def answer(**changes: Any) -> dict[str, Any]:
    return {
        "id": ID, "public_id": PUBLIC_ID, "number": "0001/BIMTEK-KDMP/35.17/2026", "version": 1, "status": "valid",
        "participant_id": ID, "cooperative_id": ID, "full_name": "Siti <script>alert(1)</script> Aminah",
        "position_group": "pengurus", "position": "bendahara", "personal_data_erased": False, "programme_id": ID,
        "programme_title": "Bimtek Perkoperasian KDMP", "session_id": ID, "regency": "35.17",
        "session_days": ["2026-03-02", "2026-03-03"], "days_attended": 2, "jp_total": 16,
        "issued_at": "2026-03-03T02:00:00+00:00", "revoked_at": None, "revoked_reason": None,
        "superseded_by": None, "replaces": None,
        "verification_url": f"https://bimtek.example.id/api/v1/public/certificates/{PUBLIC_ID}/page",
        "signature": {"key_id": "1", "algorithm": "EdDSA", "value": "c2ln", "canonical_data": "{}", "valid": True},
        "history": [{"action": "issued", "actor": None, "reason": None, "at": "2026-03-03T02:00:00+00:00"}],
    } | changes


class CertificatesStandIn:
    def __init__(self, certificate: dict[str, Any] | None) -> None:
        self.certificate = certificate
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        assert service == "certificates"
        self.calls.append((method, kwargs))
        if method == "certificate_keys":
            return {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "1", "x": "AAAA"}],
                    "active_kid": "1"}
        if self.certificate is None:
            raise RemoteError("DomainError", "bimtek_shared.contracts.errors.DomainError",
                              ["certificate_not_found", {}], "certificate_not_found")
        return self.certificate


def client(certificate: dict[str, Any] | None, role: str = "regency_admin") -> tuple[TestClient, CertificatesStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(certificates.router)
    app.include_router(public_certificates.router)
    stand_in = CertificatesStandIn(certificate)
    app.dependency_overrides[get_caller] = lambda: Caller(user="u", role=role, regency="35.17", correlation_id="r")
    app.dependency_overrides[get_services] = lambda: stand_in
    app.dependency_overrides[get_services_before_sign_in] = lambda: stand_in
    return TestClient(app), stand_in


PAGE = f"/api/v1/public/certificates/{PUBLIC_ID}/page"


def test_the_page_is_indonesian_escaped_and_self_contained() -> None:
    http, stand_in = client(answer())
    page = http.get(PAGE)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-status="valid"' in page.text and "SAH" in page.text and "Bendahara" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "2 Maret 2026, 3 Maret 2026" in page.text and 'name="viewport"' in page.text
    assert "http" not in page.text.split("<body>")[0]  # no external stylesheet, font or script
    assert stand_in.calls == [("verify_certificate", {"public_id": PUBLIC_ID})]


def test_english_by_query_or_header() -> None:
    http, _ = client(answer())
    assert "VALID" in http.get(PAGE, params={"lang": "en"}).text
    english = http.get(PAGE, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "This certificate is genuine and valid." in english.text and english.headers["content-language"] == "en"


def test_revoked_shows_reason_and_date_and_superseded_links_the_current() -> None:
    http, _ = client(answer(status="revoked", revoked_at="2026-04-01T17:30:00+00:00",
                            revoked_reason="Data kehadiran dipalsukan"))
    page = http.get(PAGE).text
    assert 'data-status="revoked"' in page and "DICABUT" in page
    assert "2 April 2026" in page and "Data kehadiran dipalsukan" in page  # the date in Jakarta
    http, _ = client(answer(status="superseded", superseded_by=NEWER))
    page = http.get(PAGE).text
    assert 'data-status="superseded"' in page and f'href="/api/v1/public/certificates/{NEWER}/page?lang=id"' in page


def test_the_cooperative_shows_by_name_when_known_else_by_id() -> None:
    http, _ = client(answer(cooperative_name="Koperasi Desa Merah Putih Plandi"))
    page = http.get(PAGE).text
    assert "<dt>Koperasi</dt><dd>Koperasi Desa Merah Putih Plandi</dd>" in page and ID not in page.split("Program")[0]
    assert http.get(f"/api/v1/public/certificates/{PUBLIC_ID}").json()["cooperative_name"] == \
        "Koperasi Desa Merah Putih Plandi"
    http, _ = client(answer(cooperative_name=None))
    assert f"<dt>Koperasi (id)</dt><dd>{ID}</dd>" in http.get(PAGE).text


def test_an_erased_persons_certificate_shows_no_name() -> None:
    http, _ = client(answer(full_name=None, position=None, personal_data_erased=True))
    page = http.get(PAGE).text
    assert "Siti" not in page and "Data pribadi telah dihapus" in page and "0001/BIMTEK-KDMP/35.17/2026" in page


def test_unknown_certificates_are_404_and_malformed_ids_never_reach_the_service() -> None:
    http, stand_in = client(None)
    page = http.get(PAGE)
    assert page.status_code == 404 and "Sertifikat tidak ditemukan." in page.text
    assert http.get(f"/api/v1/public/certificates/{PUBLIC_ID}").json()["code"] == "certificate_not_found"
    assert http.get("/api/v1/public/certificates/short").status_code == 422
    assert http.get("/api/v1/public/certificates/" + "a" * 22 + "%20/page").status_code in (404, 422)
    assert len(stand_in.calls) == 2


def test_the_json_and_the_keys_need_no_sign_in() -> None:
    http, _ = client(answer())
    assert http.get(f"/api/v1/public/certificates/{PUBLIC_ID}").json()["number"] == "0001/BIMTEK-KDMP/35.17/2026"
    assert http.get("/api/v1/public/certificate-keys").json()["keys"][0]["crv"] == "Ed25519"


def test_only_administrators_revoke_and_the_reason_reaches_the_service() -> None:
    url = f"/api/v1/certificates/{ID}/revocation"
    http, _ = client(answer(), role="operator")
    assert http.post(url, json={"reason": "Data kehadiran dipalsukan"}).status_code == 403
    http, stand_in = client(answer(status="revoked"), role="regency_admin")
    assert http.post(url, json={"reason": "Data kehadiran dipalsukan"}).status_code == 200
    assert stand_in.calls == [("revoke_certificate", {"certificate_id": ID, "reason": "Data kehadiran dipalsukan"})]
    assert http.post(url, json={"reason": "x", "status": "valid"}).status_code == 422


def test_the_list_takes_its_filters_and_refuses_unknown_ones() -> None:
    http, stand_in = client({"items": [], "next_cursor": None, "limit": 10}, role="trainer")
    assert http.get("/api/v1/certificates", params={"limit": 10, "status": "revoked",
                                                    "programme_id": ID}).status_code == 200
    assert stand_in.calls == [("list_certificate_records", {"query": {
        "limit": 10, "sort": "-issued_at", "programme_id": ID, "status": "revoked"}})]
    assert http.get("/api/v1/certificates", params={"full_name": "Siti"}).status_code == 422
    assert http.get("/api/v1/certificates", params={"sort": "full_name"}).status_code == 422
    participant, _ = client({"items": [], "next_cursor": None, "limit": 50}, role="participant")
    assert participant.get("/api/v1/certificates").status_code == 403
