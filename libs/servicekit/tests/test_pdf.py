"""servicekit.pdf: templates escape people's data, documents fetch only their own assets, the pool
renders in order. Read back with pypdf (text) rather than trusted."""

import io

import pytest
from pypdf import PdfReader

from servicekit.pdf import PdfJob, PdfRenderer, Templates, render_job


@pytest.fixture
def templates(tmp_path):
    (tmp_path / "style.css").write_text("h1 { color: #123456; }")
    (tmp_path / "page.html").write_text(
        '<html><head><link rel="stylesheet" href="style.css"></head>'
        '<body><h1>Émargement</h1><p>{{ name }}</p>{% if image %}<img src="{{ image }}">{% endif %}</body></html>')
    return Templates(tmp_path)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_name_with_markup_is_printed_as_text(templates):
    pdf = render_job(templates.job("page.html", {"name": "<b>DUPONT</b> & Fils", "image": None}))
    assert "<b>DUPONT</b> & Fils" in text_of(pdf)


def test_a_document_reads_nothing_outside_its_assets(templates, tmp_path, caplog):
    secret = tmp_path.parent / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    for url in ("file:///etc/passwd", secret.as_uri(), "http://127.0.0.1:9/x.png"):
        job = templates.job("page.html", {"name": "X", "image": url})
        assert text_of(render_job(job))  # the document is still made, without the image
    assert "passwd" not in text_of(render_job(templates.job("page.html", {"name": "X", "image": "file:///etc/passwd"})))
    refused = [r for r in caplog.records if "refused" in r.getMessage() or "Failed to load" in r.getMessage()]
    assert len(refused) >= 3


async def test_the_pool_renders_every_job_in_order(templates):
    renderer = PdfRenderer(workers=2)
    try:
        jobs = [templates.job("page.html", {"name": f"Personne {i}", "image": None}) for i in range(5)]
        pdfs = await renderer.render_all(jobs)
    finally:
        renderer.close()
    assert [f"Personne {i}" in text_of(pdf) for i, pdf in enumerate(pdfs)] == [True] * 5


def test_metadata_and_pdf_a_variant(templates):
    job = templates.job("page.html", {"name": "X", "image": None}, variant="pdf/a-3b", metadata={"title": "Bilan"})
    pdf = render_job(job)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == "Bilan"
    xmp = reader.xmp_metadata.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp, xmp
    assert 'pdfaid:conformance="B"' in xmp or "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert isinstance(job, PdfJob) and job.variant == "pdf/a-3b"
