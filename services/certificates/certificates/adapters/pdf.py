"""The certificate as a PDF: A4 landscape, in Bahasa Indonesia, with its number and QR code.

Fonts: DejaVu Serif (shipped beside this module, ``fonts/``, with its licence), embedded as a
subset of the glyphs used, so any Indonesian spelling of a name renders (apostrophes, ``Ṣ``,
``é``) and a certificate stays a few tens of kilobytes. The QR code is drawn as vector squares
(ReportLab's own encoder), never as an image.

Rendering is CPU work of a few milliseconds per page: the service runs it in ``CpuPool`` worker
processes, so these functions take and return plain, picklable data. What does not change between
certificates is done once per process (fonts registered) or once per file (the page frame and
fixed wording drawn as one form XObject that every page of a merged session PDF reuses).
Names are printed, never logged; a file's metadata carries no name either.
"""
from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from functools import cache
from itertools import zip_longest
from pathlib import Path
from typing import BinaryIO

from reportlab import rl_config
from reportlab.graphics.barcode.qrencoder import QRBitBuffer, QRCode, QRErrorCorrectLevel, QRRSBlock
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from bimtek_shared.contracts.wording import POSITION_TITLES, long_date, month_name

from ..domain.document import CertificateDocument, Signatory

FONTS = Path(__file__).parent / "fonts"
REGULAR, BOLD = "BimtekSerif", "BimtekSerif-Bold"
WIDTH, HEIGHT = landscape(A4)
MARGIN = 14 * mm
TEXT_WIDTH = WIDTH - 2 * MARGIN - 24 * mm
TEMPLATE = "certificate-frame"
TITLE = "Sertifikat Bimtek KDMP"  # the file's title: never a name, metadata travels further than pages

GROUP_TITLES = {"pengurus": "Pengurus", "pengawas": "Pengawas"}
HEADING = "BIMBINGAN TEKNIS PENGURUS DAN PENGAWAS KOPERASI DESA/KELURAHAN MERAH PUTIH"
QR_MASK = 2  # any fixed one: see _draw_qr
NAME_SIZES = (30, 27, 24, 21, 18)  # the name shrinks to fit one line, then wraps onto two at the smallest


class NotRenderable(ValueError):
    """A document that must not be printed: its participant's personal data was erased."""


# Streams as binary rather than ASCII85: a fifth smaller and faster to write. A process-wide
# ReportLab setting; the processes that import this module render only certificates.
rl_config.useA85 = 0


@cache
def register_fonts() -> None:
    """Once per process: parsing a TrueType file takes longer than rendering a certificate."""
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSerif.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSerif-Bold.ttf")))


# --------------------------------------------------------------------------- wording


def days_in_words(days: Iterable[date]) -> str:
    """``1–3 Oktober 2025``, ``30 September–2 Oktober 2025``, ``6, 8 dan 10 Oktober 2025``."""
    ordered = sorted(set(days))
    if not ordered:
        return "-"
    first, last = ordered[0], ordered[-1]
    if len(ordered) == 1:
        return long_date(first)
    if (last - first).days == len(ordered) - 1:  # consecutive: a range, shared month and year said once
        if (first.year, first.month) == (last.year, last.month):
            return f"{first.day}–{long_date(last)}"
        if first.year == last.year:
            return f"{first.day} {month_name(first.month)}–{long_date(last)}"
        return f"{long_date(first)}–{long_date(last)}"
    groups: dict[tuple[int, int], list[str]] = {}
    for day in ordered:
        groups.setdefault((day.year, day.month), []).append(str(day.day))
    if len(groups) == 1:  # "6, 8 dan 10 Oktober 2025"
        (year, month), numbers = next(iter(groups.items()))
        return f"{_listed(numbers)} {month_name(month)} {year}"
    phrases = [f"{', '.join(numbers)} {month_name(month)} {year}" for (year, month), numbers in groups.items()]
    return _listed(phrases)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " dan " + items[-1]


def position_in_words(position_group: str, position: str | None) -> str:
    """``Ketua Pengawas``, ``Wakil Ketua Bidang Usaha (Pengurus)``, ``Pengawas`` without a position."""
    group = GROUP_TITLES.get(position_group, position_group.capitalize())
    if not position:
        return group
    title = POSITION_TITLES.get(position, position.replace("_", " ").title())
    return title if group.lower() in title.lower() else f"{title} ({group})"


def qr_payload(doc: CertificateDocument) -> str:
    """The verification address, carrying the signed token so a phone can check it offline too."""
    return doc.verification_url if doc.qr_token in doc.verification_url else f"{doc.verification_url}#{doc.qr_token}"


# --------------------------------------------------------------------------- drawing


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and pdfmetrics.stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _fit_lines(text: str, font: str, sizes: tuple[float, ...], width: float, max_lines: int) -> tuple[float, list[str]]:
    """The largest size at which ``text`` fits one line; at the smallest, wrapped onto up to
    ``max_lines`` (the last one squeezed by the caller if a name is longer still)."""
    for size in sizes:
        if pdfmetrics.stringWidth(text, font, size) <= width:
            return size, [text]
    size = sizes[-1]
    lines = _wrap(text, font, size, width)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    return size, lines


def _centred(canvas: Canvas, y: float, text: str, font: str, size: float, width: float = TEXT_WIDTH) -> None:
    """One centred line, squeezed horizontally where it is still too wide (never cut: it is a record)."""
    text_width = pdfmetrics.stringWidth(text, font, size)
    if text_width <= width:
        canvas.setFont(font, size)
        canvas.drawCentredString(WIDTH / 2, y, text)
        return
    text_object = canvas.beginText()
    text_object.setFont(font, size)
    text_object.setHorizScale(100 * width / text_width)
    text_object.setTextOrigin((WIDTH - width) / 2, y)
    text_object.textOut(text)
    canvas.drawText(text_object)


def _centred_paragraph(canvas: Canvas, y: float, text: str, font: str, size: float, leading: float) -> float:
    for line in _wrap(text, font, size, TEXT_WIDTH):
        _centred(canvas, y, line, font, size)
        y -= leading
    return y


def _draw_template(canvas: Canvas) -> None:
    """What every certificate shares: the frame, the heading and the fixed words."""
    canvas.beginForm(TEMPLATE)
    canvas.setStrokeColorRGB(0.55, 0.05, 0.05)  # merah putih: a red double frame on white
    canvas.setLineWidth(3)
    canvas.rect(MARGIN - 6 * mm, MARGIN - 6 * mm, WIDTH - 2 * MARGIN + 12 * mm, HEIGHT - 2 * MARGIN + 12 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(MARGIN - 3.5 * mm, MARGIN - 3.5 * mm, WIDTH - 2 * MARGIN + 7 * mm, HEIGHT - 2 * MARGIN + 7 * mm)
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    canvas.setFont(REGULAR, 10)
    canvas.drawCentredString(WIDTH / 2, HEIGHT - MARGIN - 8 * mm, HEADING)
    canvas.setFillColorRGB(0.55, 0.05, 0.05)
    canvas.setFont(BOLD, 40)
    canvas.drawCentredString(WIDTH / 2, HEIGHT - MARGIN - 24 * mm, "SERTIFIKAT")
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(REGULAR, 13)
    canvas.drawCentredString(WIDTH / 2, HEIGHT - MARGIN - 40 * mm, "diberikan kepada")
    canvas.setFont(REGULAR, 7.5)
    canvas.drawCentredString(MARGIN + 16 * mm, MARGIN + 4.5 * mm, "Pindai untuk memeriksa keaslian")
    canvas.endForm()


# Reed-Solomon over GF(256) with the QR polynomial, by log tables: ReportLab's encoder does the
# same arithmetic with polynomial objects, and that was half of a certificate's rendering time.
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power], _LOG[_value] = _value, _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]


@cache
def _generator_logs(degree: int) -> tuple[int, ...]:
    """The logs of the generator polynomial's coefficients after the leading 1."""
    polynomial = [1]
    for power in range(degree):
        product = polynomial + [0]
        for index, coefficient in enumerate(polynomial):
            if coefficient:
                product[index + 1] ^= _EXP[_LOG[coefficient] + power]
        polynomial = product
    return tuple(_LOG[coefficient] for coefficient in polynomial[1:])


def _error_correction(data: list[int], degree: int) -> list[int]:
    generator = _generator_logs(degree)
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            log_factor = _LOG[factor]
            for index, log_coefficient in enumerate(generator):
                remainder[index] ^= _EXP[log_factor + log_coefficient]
    return remainder


def _codewords(code: QRCode) -> list[int]:
    """What ``QRCode.createData`` computes: data, terminator and padding, then the blocks' data
    and error correction codewords interleaved."""
    blocks = QRRSBlock.getRSBlocks(code.version, code.errorCorrectLevel)
    capacity = 8 * sum(block.dataCount for block in blocks)
    buffer = QRBitBuffer()
    for data in code.dataList:
        data.write(buffer, code.version)
    if buffer.getLengthInBits() + 4 <= capacity:
        buffer.put(0, 4)
    while buffer.getLengthInBits() % 8:
        buffer.putBit(False)
    data_bytes = list(buffer.buffer)
    padding = (QRCode.PAD0, QRCode.PAD1)  # alternately, to fill the capacity
    data_bytes += [padding[index % 2] for index in range(capacity // 8 - len(data_bytes))]
    data_blocks, correction_blocks, offset = [], [], 0
    for block in blocks:
        data_blocks.append(data_bytes[offset:offset + block.dataCount])
        offset += block.dataCount
        correction_blocks.append(_error_correction(data_blocks[-1], block.totalCount - block.dataCount))
    return [byte for group in (data_blocks, correction_blocks)
            for column in zip_longest(*group) for byte in column if byte is not None]


def _draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """Dark modules as vector rectangles, one per horizontal run; (x, y) the lower left corner.

    Any of the eight mask patterns makes a valid code; searching for the best one takes most of
    a certificate's rendering time, so one is fixed. The rectangles are written as PDF operators
    in module units under one scaling: integers, a short content stream, no float formatting."""
    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(payload)
    code.version = code.calculate_version()
    code.dataCache = _codewords(code)
    code.makeImpl(False, QR_MASK)
    count = code.getModuleCount()
    operators: list[str] = []
    for row_number, row in enumerate(code.modules):
        bottom = count - row_number - 1
        column = 0
        while column < count:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < count and row[column]:
                column += 1
            operators.append(f"{start} {bottom} {column - start} 1 re")
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(size / count, size / count)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.addLiteral("\n".join(operators) + "\nf")
    canvas.restoreState()


def _draw_signatories(canvas: Canvas, signatories: tuple[Signatory, ...], place_and_date: str) -> None:
    if not signatories:
        return
    area_left, area_right = MARGIN + 44 * mm, WIDTH - MARGIN
    column_width = (area_right - area_left) / len(signatories)
    top = MARGIN + 40 * mm
    canvas.setFont(REGULAR, 10)
    canvas.drawCentredString(area_right - column_width / 2, top + 6 * mm, place_and_date)
    for index, signatory in enumerate(signatories):
        centre = area_left + column_width * (index + 0.5)
        y = top
        for line in _wrap(signatory.title, REGULAR, 10, column_width - 8 * mm)[:3]:
            canvas.setFont(REGULAR, 10)
            canvas.drawCentredString(centre, y, line)
            y -= 4.6 * mm
        name_y = MARGIN + 9 * mm
        name_size = 11.0
        while name_size > 7 and pdfmetrics.stringWidth(signatory.name, BOLD, name_size) > column_width - 6 * mm:
            name_size -= 0.5
        canvas.setFont(BOLD, name_size)
        canvas.drawCentredString(centre, name_y, signatory.name)
        half = min(pdfmetrics.stringWidth(signatory.name, BOLD, name_size), column_width - 6 * mm) / 2
        canvas.setLineWidth(0.6)
        canvas.line(centre - half, name_y - 1.5 * mm, centre + half, name_y - 1.5 * mm)
        if signatory.employee_number:
            canvas.setFont(REGULAR, 9)
            canvas.drawCentredString(centre, name_y - 5.5 * mm, f"NIP {signatory.employee_number}")


def _draw_page(canvas: Canvas, doc: CertificateDocument) -> None:
    if doc.participant_name is None:
        raise NotRenderable("the participant's personal data was erased")
    canvas.doForm(TEMPLATE)
    canvas.setFillColorRGB(0, 0, 0)
    _centred(canvas, HEIGHT - MARGIN - 31 * mm, f"Nomor: {doc.number}", REGULAR, 11)
    size, lines = _fit_lines(doc.participant_name, BOLD, NAME_SIZES, TEXT_WIDTH, max_lines=2)
    y = HEIGHT - MARGIN - 52 * mm
    for line in lines:
        _centred(canvas, y, line, BOLD, size)
        y -= size * 1.15
    y -= 2 * mm
    y = _centred_paragraph(canvas, y, f"{position_in_words(doc.position_group, doc.position)} "
                                      f"{doc.cooperative_name}", REGULAR, 13, 6 * mm)
    y = _centred_paragraph(canvas, y, f"Desa/Kelurahan {doc.village_name}, Kecamatan {doc.district_name}, "
                                      f"{doc.regency_name}", REGULAR, 11, 5 * mm)
    y -= 3 * mm
    _centred(canvas, y, "telah mengikuti", REGULAR, 13)
    y -= 8 * mm
    y = _centred_paragraph(canvas, y, doc.programme_title, BOLD, 16, 7 * mm)
    _centred_paragraph(canvas, y - 1 * mm, f"pada {days_in_words(doc.days)} di {doc.venue_name}, "
                                          f"sebanyak {doc.total_hours} jam pelajaran (JP).", REGULAR, 12, 5.5 * mm)
    issued = f"Diterbitkan {long_date(doc.issued_on)}"
    if doc.version > 1:
        issued += f" (penerbitan ulang ke-{doc.version - 1})"
    _draw_signatories(canvas, doc.signatories, issued)
    _draw_qr(canvas, qr_payload(doc), MARGIN + 2 * mm, MARGIN + 9 * mm, 28 * mm)
    canvas.setFont(REGULAR, 7)
    canvas.drawCentredString(MARGIN + 16 * mm, MARGIN + 1 * mm, doc.number)
    canvas.showPage()


def _canvas(target: BinaryIO) -> Canvas:
    register_fonts()
    canvas = Canvas(target, pagesize=(WIDTH, HEIGHT), pageCompression=1)
    canvas.setTitle(TITLE)
    canvas.setAuthor("Bimtek KDMP")
    _draw_template(canvas)
    return canvas


def render_certificate(doc: CertificateDocument) -> bytes:
    """One certificate, one page. ``NotRenderable`` for an erased participant."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer)
    _draw_page(canvas, doc)
    canvas.save()
    return buffer.getvalue()


def render_certificates(docs: list[CertificateDocument]) -> list[bytes | None]:
    """A batch for one trip to a worker process; None where a document is not renderable."""
    rendered: list[bytes | None] = []
    for doc in docs:
        try:
            rendered.append(render_certificate(doc))
        except NotRenderable:
            rendered.append(None)
    return rendered


def render_session_pdf(docs: Iterable[CertificateDocument], target: BinaryIO) -> int:
    """Every certificate of a session in one printable file, a page each, written to ``target``
    (a file: ReportLab assembles the document as it goes and writes it out at the end, the
    fonts subset once and the frame drawn once for every page). Erased participants are left
    out. Returns the number of pages."""
    canvas = _canvas(target)
    pages = 0
    for doc in docs:
        if doc.participant_name is None:
            continue
        _draw_page(canvas, doc)
        pages += 1
    if not pages:
        canvas.setFont(REGULAR, 14)
        canvas.drawCentredString(WIDTH / 2, HEIGHT / 2, "Belum ada sertifikat untuk sesi ini.")
        canvas.showPage()
    canvas.save()
    return pages


def render_session_document(docs: list[CertificateDocument]) -> bytes:
    """``render_session_pdf`` for a worker process: the file's bytes back."""
    buffer = io.BytesIO()
    render_session_pdf(docs, buffer)
    return buffer.getvalue()
