"""Small PDFs that cost a lot to read, written byte by byte (no generator would make them)."""

from __future__ import annotations

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
LINE = b"BT /F1 9 Tf 72 700 Td (Again and again the same words.) Tj ET"


def _stream(extra: bytes, body: bytes) -> bytes:
    return b"<< " + extra + b" /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"


def _file(objects: dict[int, bytes]) -> bytes:
    """A PDF with a correct cross-reference table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _page(parent: int, contents: int, resources: bytes) -> bytes:
    return b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources %s >>" % (
        parent, contents, resources,
    )  # fmt: skip


def form_bomb(levels: int, width: int = 10) -> bytes:
    """One page that draws a form drawing a form ... : width**levels lines of text from about 2 KB."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 4: FONT}
    objects[5] = _stream(
        b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>", LINE
    )
    child, number = 5, 6
    for _ in range(levels - 1):
        body = b" ".join(b"q 1 0 0 1 0 -%d cm /X Do Q" % (i * 3) for i in range(width))
        resources = b"/Resources << /XObject << /X %d 0 R >> >>" % child
        objects[number] = _stream(b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] " + resources, body)
        child, number = number, number + 1
    objects[3] = _stream(b"", b" ".join(b"q 1 0 0 1 %d 0 cm /X Do Q" % (i * 5) for i in range(width)))
    objects[2] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % number
    objects[number] = _page(2, 3, b"<< /XObject << /X %d 0 R >> >>" % child)
    return _file(objects)


def repeated_page(levels: int, width: int = 10) -> bytes:
    """A page tree whose every branch lists the same child ``width`` times: one page, width**levels times."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 4: _stream(b"", LINE.replace(b"F1 9", b"F1 12")), 5: FONT}
    objects[3] = _page(2, 4, b"<< /Font << /F1 5 0 R >> >>")
    child, count, number = 3, 1, 6
    for level in range(levels):
        count *= width
        target = 2 if level == levels - 1 else number
        kids = b" ".join([b"%d 0 R" % child] * width)
        objects[target] = b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count
        child, number = target, number + 1
    return _file(objects)


def many_pages(pages: int) -> bytes:
    """``pages`` distinct pages, each with one line of text."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: _stream(b"", LINE), 4: FONT}
    kids = list(range(5, 5 + pages))
    for number in kids:
        objects[number] = _page(2, 3, b"<< /Font << /F1 4 0 R >> >>")
    objects[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % pages
    return _file(objects)
