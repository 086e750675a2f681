"""Invoices as Factur-X PDFs (BIL-09, BIL-10): the HTML template rendered by weasyprint as PDF/A-3b in
servicekit's worker processes, then the CII XML embedded as ``factur-x.xml`` by the ``factur-x``
package in the same worker."""

from dataclasses import dataclass
from pathlib import Path

from servicekit.pdf import PdfJob, PdfRenderer, Templates, render_job

from billing.domain.printing import Printed

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class FacturxJob:
    job: PdfJob
    xml: bytes | None  # None: a preview, a plain PDF


def render_facturx(job: FacturxJob) -> bytes:
    """In a worker process: the PDF/A-3b with its XML embedded (a preview stays a plain PDF)."""
    pdf = render_job(job.job)
    if job.xml is None:
        return pdf
    from facturx import generate_from_binary

    title = dict(job.job.metadata).get("title", "")
    return generate_from_binary(pdf, job.xml, flavor="factur-x", level="en16931", check_xsd=False,
                                pdf_metadata={"author": "", "keywords": "Factur-X", "title": title, "subject": title},
                                lang="fr-FR")


class InvoicePdfs:
    def __init__(self, renderer: PdfRenderer, templates: Templates | None = None) -> None:
        self.renderer = renderer
        self.templates = templates or Templates(TEMPLATES)

    def job(self, printed: Printed, xml: bytes | None) -> FacturxJob:
        context = printed.context
        variant = None if xml is None else "pdf/a-3b"
        return FacturxJob(self.templates.job("invoice.html", context, variant=variant,
                                             metadata={"title": context["title"]}), xml)

    async def render(self, jobs: list[FacturxJob]) -> list[bytes]:
        return await self.renderer.map(render_facturx, jobs)

    def close(self) -> None:
        self.renderer.close()
