"""Issuing (BIL-05, BIL-06, BIL-09, BIL-10) and credit notes (BIL-08) on PostgreSQL: Factur-X PDFs checked
with the shared EN 16931 script and the XSD, numbers without gaps."""

import asyncio
import io
import re
import subprocess
import sys
from datetime import date

import pypdf
import pytest
from facturx import get_xml_from_pdf, xml_check_xsd
from sqlalchemy import select

from servicekit.errors import Conflict, NotFound, RefusedInput

from billing.adapters import orm
from billing.service_layer import handlers, invoicing

from billing_support import VALIDATE, billing_part, clock_at, close, closed


async def drafts(runtime) -> dict[str, dict]:
    return {r["enrolment_id"]: r for r in await invoicing.pending(runtime.uow_factory())}


async def issue(runtime, draft_id: str, legal_entity: str | None = None) -> dict:
    return await invoicing.issue_invoice(invoicing.IssueInvoice(draft_id, legal_entity), runtime.uow_factory(),
                                         runtime.invoicing)


async def pdf_of(runtime, number: str) -> bytes:
    return await invoicing.pdf_of(runtime.uow_factory(), runtime.invoicing, number)


async def last_sequence(runtime, entity: str = "BGE-HDF") -> int:
    async with runtime.uow_factory() as uow:
        return (await uow.session.execute(select(orm.numbering.c.last_sequence)
                                          .where(orm.numbering.c.legal_entity == entity))).scalar()


def pdf_text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def check_facturx(pdf: bytes, tmp_path, name: str) -> bytes:
    """The proofs every issued PDF passes: the shared EN 16931 script, the XSD, PDF/A-3 level B, factur-x.xml."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    script = subprocess.run([sys.executable, str(VALIDATE), str(path)], capture_output=True, text=True)
    assert script.returncode == 0, script.stdout + script.stderr
    assert "valid (EN 16931)" in script.stdout
    filename, xml = get_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    xmp = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp) and re.search(r"pdfaid:conformance(>|=\")B", xmp)
    return xml


async def test_bil05_bil06_bil09_issued_invoice_is_a_valid_facturx_with_its_content(pg_billing, keys, tmp_path):
    await close(pg_billing, keys, closed("e1", "reoriente"))
    draft = (await drafts(pg_billing))["e1"]
    result = await issue(pg_billing, draft["id"])
    assert result["number"] == "14JUNF2500001"
    pdf = await pdf_of(pg_billing, result["number"])
    xml = check_facturx(pdf, tmp_path, result["number"]).decode()
    for expected in ("<ram:ID>14JUNF2500001</ram:ID>", "<ram:TypeCode>380</ram:TypeCode>",
                     "<ram:BuyerReference>FT-DR-HDF</ram:BuyerReference>",  # BT-10, code service
                     '<ram:ID schemeID="0009">13000548100010</ram:ID>',  # buyer SIRET
                     '<ram:ID schemeID="0009">41234567800019</ram:ID>',  # seller SIRET
                     "<ram:IssuerAssignedID>BDC-2025-000101</ram:IssuerAssignedID>",  # BT-13
                     "<ram:IBANID>FR7630006000011234567890189</ram:IBANID>", "<ram:BICID>AGRIFRPPXXX</ram:BICID>",
                     "<ram:CategoryCode>O</ram:CategoryCode>", "<ram:DuePayableAmount>180.00</ram:DuePayableAmount>"):
        assert expected in xml, expected
    text = pdf_text(pdf)
    for expected in ("FACTURE", "14JUNF2500001", "BGE Hauts-de-France", "Association loi 1901", "RNA W595012345",
                     "NAF 8899B", "SIRET 41234567800019", "SIRET 13000548100010", "FT-DR-HDF", "BDC-2025-000101",
                     "NOM0 Prénom0", "1000000X", "14/01/2025", "13/04/2025", "1 200,00 €", "15 %", "180,00 €",
                     "2024-FT-ACR-0042", "Armentières", "AGRIFRPPXXX", "TVA non applicable"):
        assert expected in text, expected


async def test_bil10_preview_is_marked_and_consumes_no_number(pg_billing, keys):
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    rows = await drafts(pg_billing)
    pdf = await invoicing.preview(pg_billing.uow_factory(), pg_billing.invoicing, rows["e1"]["id"])
    text = pdf_text(pdf)
    assert "APERÇU" in text and "aucun numéro attribué" in text and "14JUNF" not in text
    assert await last_sequence(pg_billing) == 0
    assert (await issue(pg_billing, rows["e2"]["id"]))["number"] == "14JUNF2500001"
    assert (await drafts(pg_billing))["e1"]["status"] == "draft"


async def test_bil09_draft_failing_validation_names_its_rules_and_consumes_no_number(pg_billing, keys):
    # An exempt VAT category (E) needs a seller VAT or tax registration id, which the sample has not.
    part = billing_part()
    part["legal_entities"][0] |= {"vat_category": "E"}
    await handlers.load_catalogue(handlers.LoadCatalogue(handlers.CataloguePart.model_validate(part)),
                                  pg_billing.uow_factory())
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    rows = await drafts(pg_billing)
    with pytest.raises(RefusedInput) as refused:
        await issue(pg_billing, rows["e1"]["id"])
    assert any("BR-E-02" in m and "aucun numéro attribué" in m for m in refused.value.messages), refused.value.messages
    assert await last_sequence(pg_billing) == 0
    part["legal_entities"][0] |= {"vat_category": "O"}
    await handlers.load_catalogue(handlers.LoadCatalogue(handlers.CataloguePart.model_validate(part)),
                                  pg_billing.uow_factory())
    assert (await issue(pg_billing, rows["e2"]["id"]))["number"] == "14JUNF2500001"


async def test_bil05_sixteen_concurrent_issues_take_sixteen_consecutive_numbers(pg_billing, keys):
    await close(pg_billing, keys, *[closed(f"e{n:02d}") for n in range(16)])
    rows = await drafts(pg_billing)
    results = await asyncio.gather(*[issue(pg_billing, r["id"]) for r in rows.values()])
    assert sorted(r["number"] for r in results) == [f"14JUNF25{n:05d}" for n in range(1, 17)]
    assert await last_sequence(pg_billing) == 16
    assert len(pg_billing.invoicing.lock_hold_seconds) == 16


async def test_bil05_the_same_draft_issued_twice_at_once_gets_one_number(pg_billing, keys):
    await close(pg_billing, keys, closed("e1"))
    draft_id = (await drafts(pg_billing))["e1"]["id"]
    results = await asyncio.gather(issue(pg_billing, draft_id), issue(pg_billing, draft_id), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "dict"]
    assert await last_sequence(pg_billing) == 1


async def test_bil05_year_change_continues_the_sequence(pg_billing, keys, clock):
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    rows = await drafts(pg_billing)
    clock.at = clock_at(date(2025, 12, 31)).at
    assert (await issue(pg_billing, rows["e1"]["id"]))["number"] == "14JUNF2500001"
    clock.at = clock_at(date(2026, 1, 2)).at
    assert (await issue(pg_billing, rows["e2"]["id"]))["number"] == "14JUNF2600002"


async def test_bil05_two_legal_entities_two_sequences(pg_billing, keys):
    part = billing_part()
    second = part["legal_entities"][0] | {"code": "BGE-DOU", "name": "BGE Douaisis", "invoice_prefix": "DOU",
                                          "siret": "41234567800027"}
    part["legal_entities"].append(second)
    part["antennes"] = [{"code": "LILLE", "legal_entity": "BGE-HDF"}, {"code": "DOUAISIS", "legal_entity": "BGE-DOU"}]
    await handlers.load_catalogue(handlers.LoadCatalogue(handlers.CataloguePart.model_validate(part)),
                                  pg_billing.uow_factory())
    await close(pg_billing, keys, closed("e1"), closed("e2"), closed("d1", site="DOU"), closed("d2", site="DOU"))
    rows = await drafts(pg_billing)
    numbers = [(await issue(pg_billing, rows[e]["id"]))["number"] for e in ("e1", "d1", "d2", "e2")]
    assert numbers == ["14JUNF2500001", "14DOUF2500001", "14DOUF2500002", "14JUNF2500002"]
    # BIL-02: an invoice id of another legal entity is refused, no number consumed.
    await close(pg_billing, keys, closed("e3"))
    with pytest.raises(RefusedInput, match="relève de l'entité juridique « BGE-HDF », pas de « BGE-DOU »"):
        await issue(pg_billing, (await drafts(pg_billing))["e3"]["id"], legal_entity="BGE-DOU")
    assert await last_sequence(pg_billing, "BGE-DOU") == 2 and await last_sequence(pg_billing) == 2


async def test_bil08_credit_note_type_381_own_number_references_the_invoice(pg_billing, keys, tmp_path):
    await close(pg_billing, keys, closed("e1"), closed("e2"))
    rows = await drafts(pg_billing)
    first = await issue(pg_billing, rows["e1"]["id"])
    credit = await invoicing.issue_credit_note(invoicing.IssueCreditNote(first["number"], "Date de bilan erronée"),
                                               pg_billing.uow_factory(), pg_billing.invoicing)
    assert credit["number"] == "14JUNF2500002"
    xml = check_facturx(await pdf_of(pg_billing, credit["number"]), tmp_path, credit["number"]).decode()
    assert "<ram:TypeCode>381</ram:TypeCode>" in xml
    assert "<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>14JUNF2500001</ram:IssuerAssignedID>" in xml
    credit_text = pdf_text(await pdf_of(pg_billing, credit["number"]))
    assert "AVOIR" in credit_text and "Motif : Date de bilan erronée" in credit_text
    assert "Motif de l'avoir : Date de bilan erronée" in xml
    # The invoice stays issued with its number; the journey has a new draft to issue again.
    issued = {r["number"]: r for r in await invoicing.issued(pg_billing.uow_factory())}
    assert issued["14JUNF2500001"]["credited_by"] == credit["id"]
    reissue = await issue(pg_billing, credit["reissue_id"])
    assert reissue["number"] == "14JUNF2500003"
    with pytest.raises(Conflict, match="déjà annulée par l'avoir n° 14JUNF2500002"):
        await invoicing.issue_credit_note(invoicing.IssueCreditNote(first["number"], "encore"),
                                          pg_billing.uow_factory(), pg_billing.invoicing)
    with pytest.raises(NotFound, match="« 14JUNF2599999 » inconnue"):
        await invoicing.issue_credit_note(invoicing.IssueCreditNote("14JUNF2599999", "x"),
                                          pg_billing.uow_factory(), pg_billing.invoicing)
    assert await last_sequence(pg_billing) == 3
