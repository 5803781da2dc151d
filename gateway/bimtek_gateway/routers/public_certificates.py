"""Public verification of certificates: anyone holding a certificate's address (its QR code) sees
what it states and whether it stands (valid, revoked with reason and date, or superseded with a
link to the current version), as JSON or as a page for phones; and the published keys, to check
signatures and QR tokens offline. No sign-in; rate limited per IP (``/api/v1/public/*``)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from ..certificate_page import certificate_page, not_found_page
from ..dependencies import ServicesBeforeSignIn
from ..problems import DOMAIN_ERROR_TYPE, language_of
from ..rpc import RemoteError
from ..schemas.certificates import PUBLIC_ID, CertificateKeys, PublicCertificate

router = APIRouter(prefix="/api/v1/public", tags=["certificate verification"])

PublicId = Annotated[str, Path(pattern=PUBLIC_ID, description="The random id in the certificate's address")]
# Public and unchanging for a while: a shared cache may keep them briefly (a revocation shows within a minute).
CACHE_CONTROL = "public, max-age=60"


@router.get("/certificates/{public_id}", response_model=PublicCertificate, summary="Verify a certificate (JSON)")
async def verify_certificate(public_id: PublicId, services: ServicesBeforeSignIn) -> dict[str, Any]:
    """Everything the certificate states (never a NIK), its status, and its signature with the
    signed canonical data; 404 `certificate_not_found` for an unknown id."""
    return await services.call("certificates", "verify_certificate", public_id=public_id)


@router.get("/certificates/{public_id}/page", response_class=HTMLResponse,
            responses={404: {"content": {"text/html": {}}, "description": "A page saying no such certificate exists"}},
            summary="Verify a certificate (page for people; the QR code's address)")
async def verification_page(public_id: PublicId, request: Request, services: ServicesBeforeSignIn,
                            lang: Annotated[str | None, Query(pattern="^(id|en)$")] = None) -> HTMLResponse:
    """Bahasa Indonesia, or English with `?lang=en` or `Accept-Language: en`."""
    language = lang or language_of(request)
    switch_to = f"{request.url.path}?lang={'id' if language == 'en' else 'en'}"
    try:
        certificate = await services.call("certificates", "verify_certificate", public_id=public_id)
    except RemoteError as error:
        if error.exc_type != DOMAIN_ERROR_TYPE or not error.exc_args or error.exc_args[0] != "certificate_not_found":
            raise
        return HTMLResponse(not_found_page(language, switch_to), status_code=404)
    current = certificate.get("superseded_by")
    current_url = f"{request.url.path.rsplit('/', 2)[0]}/{current}/page?lang={language}" if current else None
    return HTMLResponse(certificate_page(certificate, language, current_url=current_url, switch_to=switch_to),
                        headers={"Cache-Control": CACHE_CONTROL, "Content-Language": language})


@router.get("/certificate-keys", response_model=CertificateKeys, summary="The keys certificates are signed with")
async def certificate_keys(services: ServicesBeforeSignIn) -> dict[str, Any]:
    """Every key that signed a certificate still held valid, as a JWK set (OKP, Ed25519), and the
    one signing new certificates. A certificate's `signature.key_id` and its QR token's first byte
    name the key."""
    return await services.call("certificates", "certificate_keys")
