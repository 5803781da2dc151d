"""PDF documents, A4, in Bahasa Indonesia: a participant's invitation (one page per session, with
its QR code) and a session day's attendance sheet (the paper fallback when phones fail; with each
row's QR code if asked, for a phone to scan off the sheet).

Rendering takes tens of milliseconds per page, so the service runs these functions in a
``CpuPool`` worker process: they take and return plain data only. The documents go to the person
invited or to the session's staff; names are printed, never logged.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from bimtek_shared.contracts import wording

HEADING = "Bimbingan Teknis Pengurus dan Pengawas Koperasi Desa/Kelurahan Merah Putih"
ROWS_PER_PAGE = 20
ROWS_PER_PAGE_WITH_QR = 10
WIDTH, HEIGHT = A4
MARGIN = 18 * mm
REGULAR, BOLD = "Helvetica", "Helvetica-Bold"


def long_date(day: date) -> str:
    """``Senin, 6 Oktober 2025``."""
    return f"{wording.WEEKDAY_NAMES[day.weekday()]}, {wording.long_date(day)}"


def position_title(position: str | None) -> str:
    if not position:
        return "-"
    return wording.POSITION_TITLES.get(position, position.replace("_", " ").capitalize())


def _fit(text: str, font: str, size: float, width: float) -> str:
    """The text, cut short with an ellipsis where it would run past ``width``."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float, *, mask: int | None = None) -> None:
    """The QR code as vector squares, ``size`` wide with (x, y) its lower left corner; the caller
    leaves white space around it (the quiet zone). ``mask``: a fixed mask pattern (any of the
    eight is valid) instead of the best one, which takes five times as long to find: for a sheet
    of many codes."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=mask)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    module = size / len(matrix)
    path = canvas.beginPath()
    for row_number, row in enumerate(matrix):
        top = y + size - (row_number + 1) * module
        column = 0
        while column < len(row):  # a run of dark modules is one rectangle
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            path.rect(x + start * module, top, (column - start) * module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def _new_canvas(buffer: io.BytesIO, title: str) -> Canvas:
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)  # never a name: a file's metadata travels further than its pages
    canvas.setAuthor("Bimtek KDMP")
    return canvas


def _labelled(canvas: Canvas, y: float, label: str, lines: list[str]) -> float:
    canvas.setFont(REGULAR, 11)
    canvas.drawString(MARGIN, y, label)
    for line in lines or ["-"]:
        canvas.drawString(MARGIN + 38 * mm, y, _fit(line, REGULAR, 11, WIDTH - 2 * MARGIN - 38 * mm))
        y -= 6 * mm
    return y - 2 * mm


def render_invitations(invitations: list[dict[str, Any]]) -> bytes:
    """One page per invitation, as ``get_invitation`` answers them: ``programme`` (``title``),
    ``session`` (``number``, ``days`` as ISO dates), ``venue`` (``name``, ``address``),
    ``participant`` (``full_name``, ``position``, ``cooperative``) and ``qr`` (the signed token)."""
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, "Undangan Bimtek KDMP")
    for invitation in invitations:
        participant, venue, session = invitation["participant"], invitation["venue"], invitation["session"]
        y = HEIGHT - MARGIN - 4 * mm
        canvas.setFont(BOLD, 18)
        canvas.drawCentredString(WIDTH / 2, y, "UNDANGAN")
        y -= 8 * mm
        canvas.setFont(REGULAR, 10)
        canvas.drawCentredString(WIDTH / 2, y, _fit(HEADING, REGULAR, 10, WIDTH - 2 * MARGIN))
        y -= 6 * mm
        canvas.setFont(BOLD, 12)
        canvas.drawCentredString(WIDTH / 2, y, _fit(invitation["programme"]["title"], BOLD, 12, WIDTH - 2 * MARGIN))
        y -= 4 * mm
        canvas.line(MARGIN, y, WIDTH - MARGIN, y)
        y -= 10 * mm
        canvas.setFont(REGULAR, 11)
        canvas.drawString(MARGIN, y, "Kepada Yth.")
        y -= 6 * mm
        canvas.setFont(BOLD, 12)
        canvas.drawString(MARGIN, y, _fit(participant.get("full_name") or "-", BOLD, 12, WIDTH - 2 * MARGIN))
        y -= 6 * mm
        canvas.setFont(REGULAR, 11)
        for line in (position_title(participant.get("position")), participant.get("cooperative") or ""):
            if line:
                canvas.drawString(MARGIN, y, _fit(line, REGULAR, 11, WIDTH - 2 * MARGIN))
                y -= 6 * mm
        y -= 4 * mm
        canvas.drawString(MARGIN, y, "Dengan hormat, Bapak/Ibu kami undang mengikuti bimbingan teknis pada:")
        y -= 10 * mm
        y = _labelled(canvas, y, "Sesi", [f"Sesi ke-{session['number']}"])
        y = _labelled(canvas, y, "Hari, tanggal", [long_date(date.fromisoformat(d)) for d in session["days"]])
        y = _labelled(canvas, y, "Tempat", [venue["name"], *([venue["address"]] if venue.get("address") else [])])
        qr_size = 62 * mm
        qr_y = y - qr_size - 6 * mm
        _draw_qr(canvas, invitation["qr"], (WIDTH - qr_size) / 2, qr_y, qr_size)
        canvas.setFont(REGULAR, 10)
        canvas.drawCentredString(WIDTH / 2, qr_y - 8 * mm,
                                 "Tunjukkan kode QR ini kepada pelatih setiap hari pelatihan untuk presensi.")
        canvas.drawCentredString(WIDTH / 2, qr_y - 13 * mm,
                                 "Harap hadir 30 menit sebelum acara dimulai dan membawa KTP.")
        canvas.setFont(REGULAR, 8)
        canvas.drawCentredString(WIDTH / 2, MARGIN,
                                 "Kode QR berisi nomor undangan bertanda tangan digital, bukan data pribadi.")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_attendance_sheet(sheet: dict[str, Any]) -> bytes:
    """A session day's attendance sheet: ``programme_title``, ``session_number``, ``venue_name``,
    ``day`` (ISO date) and ``rows`` (``full_name``, ``cooperative``, ``position``, and ``qr`` when
    ``with_qr``), numbered, with a column to sign in."""
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, "Daftar Hadir Bimtek KDMP")
    with_qr = sheet["with_qr"]
    per_page = ROWS_PER_PAGE_WITH_QR if with_qr else ROWS_PER_PAGE
    rows = sheet["rows"]
    pages = max(1, -(-len(rows) // per_page))
    for page in range(pages):
        _sheet_page(canvas, sheet, date.fromisoformat(sheet["day"]), rows[page * per_page:(page + 1) * per_page],
                    first_number=page * per_page + 1, page=page + 1, pages=pages, with_qr=with_qr)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _sheet_page(canvas: Canvas, sheet: dict[str, Any], day: date, rows: list[dict[str, Any]], *, first_number: int,
                page: int, pages: int, with_qr: bool) -> None:
    y = HEIGHT - MARGIN
    canvas.setFont(BOLD, 14)
    canvas.drawCentredString(WIDTH / 2, y, "DAFTAR HADIR")
    y -= 6 * mm
    canvas.setFont(REGULAR, 10)
    canvas.drawCentredString(WIDTH / 2, y, _fit(sheet["programme_title"], REGULAR, 10, WIDTH - 2 * MARGIN))
    y -= 5 * mm
    where = f"Sesi ke-{sheet['session_number']}  ·  {long_date(day)}  ·  {sheet['venue_name']}"
    canvas.drawCentredString(WIDTH / 2, y, _fit(where, REGULAR, 10, WIDTH - 2 * MARGIN))
    y -= 8 * mm

    # No, Nama, Koperasi, Jabatan, Tanda tangan (and the QR code); widths add up to the page's.
    usable = WIDTH - 2 * MARGIN
    widths = [9 * mm, 44 * mm, 36 * mm, 27 * mm] if with_qr else [9 * mm, 52 * mm, 45 * mm, 30 * mm]
    qr_width = 22 * mm if with_qr else 0
    widths.append(usable - sum(widths) - qr_width)
    if with_qr:
        widths.append(qr_width)
    headings = ["No", "Nama", "Koperasi", "Jabatan", "Tanda tangan"] + (["QR"] if with_qr else [])
    row_height = 22 * mm if with_qr else 10.5 * mm
    lefts = [MARGIN + sum(widths[:i]) for i in range(len(widths))]

    header_height = 7 * mm
    canvas.setFillColorRGB(0.9, 0.9, 0.9)
    canvas.rect(MARGIN, y - header_height, usable, header_height, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(BOLD, 9)
    for left, heading in zip(lefts, headings):
        canvas.drawString(left + 1.5 * mm, y - header_height + 2.3 * mm, heading)
    top = y
    y -= header_height
    canvas.setFont(REGULAR, 9)
    for offset, row in enumerate(rows):
        baseline = y - row_height / 2 - 1.2 * mm
        cells = [str(first_number + offset), row.get("full_name") or "-", row.get("cooperative") or "-",
                 position_title(row.get("position"))]
        for left, width, text in zip(lefts, widths, cells):
            canvas.drawString(left + 1.5 * mm, baseline, _fit(text, REGULAR, 9, width - 3 * mm))
        if with_qr and row.get("qr"):
            size = row_height - 3 * mm
            _draw_qr(canvas, row["qr"], lefts[-1] + (qr_width - size) / 2, y - row_height + 1.5 * mm, size, mask=2)
        y -= row_height
        canvas.line(MARGIN, y, WIDTH - MARGIN, y)
    canvas.rect(MARGIN, y, usable, top - y, stroke=1, fill=0)
    for left in lefts[1:]:
        canvas.line(left, y, left, top)

    canvas.setFont(REGULAR, 8)
    canvas.drawString(MARGIN, MARGIN - 6 * mm, "Pelatih/petugas: ____________________   Tanda tangan: ____________")
    canvas.drawRightString(WIDTH - MARGIN, MARGIN - 6 * mm, f"Halaman {page} dari {pages}")
