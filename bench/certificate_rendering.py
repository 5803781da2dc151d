"""Phase ``certificates`` of bench/run.py (not named ``certificates.py``: that is the service's package
name): the certificate PDF renderer, timed in this process (the
service renders in ``CpuPool`` worker processes, off the eventlet hub; no stack needed).

- Renders per second per core: ``render_certificate`` on one core (this process), CPU time per
  certificate over a sample of names (short, long, with diacritics), median of runs.
- Baseline, same run: a minimal ReportLab page with the same text in a built-in font (Helvetica,
  nothing embedded), no frame, no QR code: what any ReportLab certificate costs, so the ratio
  says what this design adds (embedded subset fonts, the vector QR code, the frame).
- File size: median and largest over the sample; target under 150 KB.
- A session's merged printable PDF: 250 pages (a full hall).
- A regency's 2,448 certificates rendered by a pool of spawned worker processes in batches, as the
  service's ``CpuPool`` does: the rendering part of "ready within 30 s of the sessions closing".
  Issuance itself (numbers, signatures, storage) is another engineer's and is not in this figure.
- The streaming ZIP writer of the gateway over those 2,448 PDFs (MB/s, event loop time).
"""
from __future__ import annotations

import asyncio
import io
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any, Callable

from common import CpuMeter, loadavg
from certificates.adapters.pdf import register_fonts, render_certificate, render_certificates, render_session_pdf
from certificates.domain.document import CertificateDocument, Signatory
from bimtek_gateway.archives import zip_stream

TARGETS = {"per_s_per_core": 100, "max_kb": 150, "regency_s": 30}
REGENCY_CERTIFICATES = 2_448  # Jombang: 306 cooperatives x 8
BATCH = 50  # certificates per trip to a worker process
NAMES = ("Siti Aminah", "Ni Luh Putu Ayu Ṣaraswati", "I Gusti Ngurah Rai'an", "Nur'aini Ma’ruf",
         "Raden Ajeng Siti Khadījah Ḥasanah", "Muhammad",
         "Raden Mas Haji Muhammad Abdurrahman Wahyu Kusumaningrat Prawirodirdjo Hadiningrat Soerjosoemarno")
POSITIONS = ("ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara", "ketua_pengawas",
             "anggota_pengawas", "anggota_pengurus")
TEMPLATE = CertificateDocument(
    number="0001/BIMTEK-KDMP/35.17/2025", participant_name="Siti Aminah", position_group="pengurus",
    position="ketua", cooperative_name="Koperasi Desa Merah Putih Banjardowo", village_name="Banjardowo",
    district_name="Jombang", regency_name="Kabupaten Jombang",
    programme_title="Bimtek Perkoperasian KDMP Kabupaten Jombang 2025",
    days=(date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3)), venue_name="Aula Dinas Koperasi Kabupaten Jombang",
    total_hours=24,
    signatories=(Signatory("Dr. H. Ahmad Fauzi, M.Si.", "Kepala Dinas Koperasi dan Usaha Mikro Kabupaten Jombang",
                           "19700101 199503 1 001"), Signatory("Ir. Sri Wahyuni", "Ketua Panitia Pelaksana")),
    verification_url="https://bimtek.example.id/api/v1/public/certificates/c0000000000000000000001/page",
    qr_token="AQ." + "x" * 60 + "." + "s" * 86,  # about the size of an Ed25519-signed token
    issued_on=date(2025, 10, 4))


def documents(count: int) -> list[CertificateDocument]:
    return [replace(TEMPLATE, number=f"{n + 1:04d}/BIMTEK-KDMP/35.17/2025", participant_name=NAMES[n % len(NAMES)],
                    position=POSITIONS[n % len(POSITIONS)],
                    position_group="pengawas" if "pengawas" in POSITIONS[n % len(POSITIONS)] else "pengurus",
                    verification_url=f"https://bimtek.example.id/api/v1/public/certificates/c{n:022d}/page")
            for n in range(count)]


def plain_page(doc: CertificateDocument) -> bytes:
    """The baseline: the same words on an A4 landscape page, Helvetica, nothing else."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(A4), pageCompression=1)
    lines = ["SERTIFIKAT", f"Nomor: {doc.number}", "diberikan kepada", doc.participant_name or "", doc.position or "",
             doc.cooperative_name, f"Desa/Kelurahan {doc.village_name}, Kecamatan {doc.district_name}",
             doc.regency_name, "telah mengikuti", doc.programme_title, doc.venue_name, f"{doc.total_hours} JP",
             *(f"{s.title} {s.name}" for s in doc.signatories), doc.verification_url]
    y = 540.0
    for line in lines:
        canvas.setFont("Helvetica", 12)
        canvas.drawCentredString(421, y, line)
        y -= 22
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _rate(render: Callable[[CertificateDocument], bytes], docs: list[CertificateDocument], runs: int,
          label: str, wait_for_quiet: Callable[[str], float]) -> dict[str, Any]:
    per_s, busy, sizes = [], [], []
    for run in range(runs):
        if run == 0:
            wait_for_quiet(f"certificates: {label}")
        meter = CpuMeter({"bench": []}).start()
        cpu0 = time.process_time()
        sizes = [len(render(doc)) for doc in docs]
        per_s.append(len(docs) / (time.process_time() - cpu0))
        busy.append(meter.stop()["machine_busy_pct"])
    return {"runs": runs, "per_s_per_core": round(statistics.median(per_s), 1), "min": round(min(per_s), 1),
            "max": round(max(per_s), 1), "ms_each": round(1000 / statistics.median(per_s), 2),
            "size_kb_median": round(statistics.median(sizes) / 1024, 1), "size_kb_max": round(max(sizes) / 1024, 1),
            "machine_busy_pct_median": round(statistics.median(busy), 1)}


def _regency_in_pool(docs: list[CertificateDocument], workers: int) -> dict[str, Any]:
    """As the service does: batches to spawned worker processes (started beforehand, as CpuPool's are)."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(render_certificates, [docs[:2]] * workers))  # the workers are up and warm
        t0 = time.perf_counter()
        rendered = [pdf for batch in pool.map(render_certificates, [docs[i:i + BATCH]
                                                                   for i in range(0, len(docs), BATCH)])
                    for pdf in batch]
        wall = time.perf_counter() - t0
    total = sum(len(pdf or b"") for pdf in rendered)
    return {"certificates": len(rendered), "workers": workers, "batch": BATCH, "wall_s": round(wall, 2),
            "per_s": round(len(rendered) / wall, 1), "total_mb": round(total / 1e6, 1)}


def _zip(pdfs: list[bytes]) -> dict[str, Any]:
    async def entries():
        for n, pdf in enumerate(pdfs):
            yield f"{n:05d}.pdf", pdf

    async def go() -> int:
        size = 0
        async for chunk in zip_stream(entries()):
            size += len(chunk)
        return size

    t0, cpu0 = time.perf_counter(), time.process_time()
    size = asyncio.run(go())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"entries": len(pdfs), "archive_mb": round(size / 1e6, 1), "wall_s": round(wall, 3),
            "mb_per_s": round(size / 1e6 / wall, 1), "cpu_ms_per_entry": round(1000 * cpu / len(pdfs), 3)}


def run_phase(*, quick: bool, wait_for_quiet: Callable[[str], float]) -> dict[str, Any]:
    out: dict[str, Any] = {"targets": TARGETS, "load_start": loadavg()}
    register_fonts()
    sample = documents(100 if quick else 300)
    render_certificate(sample[0])  # warm: fonts parsed, modules imported
    runs = 3 if quick else 5
    out["ours"] = _rate(render_certificate, sample, runs, "renderer", wait_for_quiet)
    out["baseline"] = _rate(plain_page, sample, runs, "baseline", wait_for_quiet)
    out["ratio"] = round(out["baseline"]["per_s_per_core"] / out["ours"]["per_s_per_core"], 2)
    print(f"   renderer {out['ours']['per_s_per_core']}/s per core ({out['ours']['ms_each']} ms), "
          f"{out['ours']['size_kb_median']} KB median, {out['ours']['size_kb_max']} KB max; baseline "
          f"{out['baseline']['per_s_per_core']}/s, {out['baseline']['size_kb_median']} KB", flush=True)

    session = documents(250)
    wait_for_quiet("certificates: session PDF")
    buffer = io.BytesIO()
    t0, cpu0 = time.perf_counter(), time.process_time()
    render_session_pdf(session, buffer)
    out["session_pdf"] = {"pages": len(session), "wall_s": round(time.perf_counter() - t0, 2),
                          "cpu_s": round(time.process_time() - cpu0, 2), "size_kb": round(len(buffer.getvalue()) / 1024)}
    print(f"   session PDF of 250 pages: {out['session_pdf']}", flush=True)

    regency = documents(REGENCY_CERTIFICATES)
    wait_for_quiet("certificates: a regency in the pool")
    out["regency"] = _regency_in_pool(regency, workers=multiprocessing.cpu_count())
    print(f"   a regency's {REGENCY_CERTIFICATES:,} in the pool: {out['regency']}", flush=True)

    pdfs = render_certificates(regency[:500] if quick else regency)
    out["zip"] = _zip([pdf for pdf in pdfs if pdf])
    print(f"   ZIP stream: {out['zip']}", flush=True)
    out["load_end"] = loadavg()
    return out


def verdicts(res: dict[str, Any]) -> list[str]:
    ours, regency = res["ours"], res["regency"]
    return [
        f"Certificates rendered per second per core >= {TARGETS['per_s_per_core']}: median "
        f"{ours['per_s_per_core']} -> {'MET' if ours['per_s_per_core'] >= TARGETS['per_s_per_core'] else 'NOT MET'}",
        f"Certificate under {TARGETS['max_kb']} KB: largest {ours['size_kb_max']} KB -> "
        f"{'MET' if ours['size_kb_max'] < TARGETS['max_kb'] else 'NOT MET'}",
        f"A regency's {regency['certificates']:,} certificates rendered within {TARGETS['regency_s']} s "
        f"({regency['workers']} worker processes): {regency['wall_s']} s -> "
        f"{'MET' if regency['wall_s'] < TARGETS['regency_s'] else 'NOT MET'} (rendering only: issuance not included)",
    ]


def render(res: dict[str, Any]) -> list[str]:
    ours, base, session, regency, archive = res["ours"], res["baseline"], res["session_pdf"], res["regency"], res["zip"]
    return [
        "## Certificates (phase `certificates`)", "",
        "`render_certificate` timed in the benchmark's process (CPU time, one core), beside a same-run baseline: "
        "the same words on a plain ReportLab page in Helvetica (no embedded font, no frame, no QR code).", "",
        "| renderer | runs | per s per core, median (min-max) | ms each | size KB median / max | machine busy |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {name} | {x['runs']} | **{x['per_s_per_core']}** ({x['min']}-{x['max']}) | {x['ms_each']} | "
          f"{x['size_kb_median']} / {x['size_kb_max']} | {x['machine_busy_pct_median']} % |"
          for name, x in (("certificate (DejaVu subset, vector QR, frame)", ours), ("baseline: plain text page", base))),
        "", f"The design costs {res['ratio']}x the baseline's time per certificate.", "",
        f"- A session's merged printable PDF, {session['pages']} pages: {session['wall_s']} s "
        f"(CPU {session['cpu_s']} s), {session['size_kb']} KB (the frame and fonts once for every page).",
        f"- A regency's {regency['certificates']:,} certificates by {regency['workers']} spawned worker processes in "
        f"batches of {regency['batch']} (as `CpuPool`): **{regency['wall_s']} s** ({regency['per_s']}/s, "
        f"{regency['total_mb']} MB). Rendering only: issuance (numbers, signatures) is not in this figure.",
        f"- The gateway's streaming ZIP writer over {archive['entries']:,} of them ({archive['archive_mb']} MB): "
        f"{archive['wall_s']} s, {archive['mb_per_s']} MB/s, {archive['cpu_ms_per_entry']} ms of event loop per entry.",
        "", f"Load average before {res.get('load_start')}, after {res.get('load_end')}.", "",
    ]
