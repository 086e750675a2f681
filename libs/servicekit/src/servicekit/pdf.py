"""PDF documents from Jinja2 templates, rendered by weasyprint in a pool of worker processes.

Every service that writes a PDF (planning's *bilan* and *émargement*, billing's invoices) goes
through :class:`PdfRenderer`:

- templates are Jinja2 with autoescape on, so a person's name with markup is printed as text;
- weasyprint fetches nothing but the template folder's own files (``url_fetcher``): a
  ``file:///etc/passwd`` or ``http://`` reference in user text is refused, never read;
- rendering is CPU-bound and holds the GIL, so it runs in worker processes (one per core by default)
  and the event loop stays free for the service's other requests.
"""

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


class FetchRefused(ValueError):
    """A document asked for something outside its template folder."""


def restricted_fetcher(assets: Path):
    """A weasyprint URL fetcher that serves files under ``assets`` and ``data:`` URLs, nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = assets.resolve()

    class AssetsOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            parsed = urlparse(url)
            if parsed.scheme == "data":
                return super().fetch(url, headers)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path.is_relative_to(root) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _mime(path)})
            raise FetchRefused(f"resource outside the document's assets refused: {parsed.scheme}:…")

    return AssetsOnly(allowed_protocols=("file", "data"), allow_redirects=False)


def _mime(path: Path) -> str | None:
    return {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
            ".ttf": "font/ttf", ".woff2": "font/woff2"}.get(path.suffix.lower(), "application/octet-stream")


@dataclass(frozen=True)
class PdfJob:
    """One document: its HTML (already rendered from its template) and the folder it may read."""

    html: str
    assets: str
    variant: str | None = None  # weasyprint's pdf_variant, e.g. "pdf/a-3b" for Factur-X invoices
    metadata: tuple[tuple[str, str], ...] = ()  # title, author... as the PDF's document information


def render_job(job: PdfJob) -> bytes:
    """In a worker process: the PDF of one job (module-level so that the pool can pickle it)."""
    from weasyprint import HTML

    assets = Path(job.assets)
    document = HTML(string=job.html, base_url=assets.as_uri() + "/", url_fetcher=restricted_fetcher(assets))
    options: dict[str, Any] = {}
    if job.variant:
        options["pdf_variant"] = job.variant
    rendered = document.render()
    for name, value in job.metadata:
        setattr(rendered.metadata, name, value)
    return rendered.write_pdf(**options)


def _apply(function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """In a worker process: ``function`` over several items in one round trip to the pool."""
    return [function(item) for item in items]


class Templates:
    """A folder of Jinja2 templates and the assets they use (CSS, logos)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.environment = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(default=True),
                                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    def html(self, template: str, context: Mapping[str, Any]) -> str:
        return self.environment.get_template(template).render(**context)

    def job(self, template: str, context: Mapping[str, Any], *, variant: str | None = None,
            metadata: Mapping[str, str] | None = None) -> PdfJob:
        return PdfJob(self.html(template, context), str(self.folder), variant, tuple((metadata or {}).items()))


class PdfRenderer:
    """Renders PDF jobs in worker processes, several per round trip; started lazily, shut down by
    :meth:`close`. ``workers=0`` renders in this process (tests of a single document, tools)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._pool: Executor | None = None

    def _executor(self) -> Executor | None:
        if self.workers and self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        return self._pool

    async def render(self, job: PdfJob) -> bytes:
        return (await self.render_all([job]))[0]

    async def render_all(self, jobs: Iterable[PdfJob]) -> list[bytes]:
        """Every job's PDF, in order, the jobs spread over the workers in as many chunks as workers."""
        return await self.map(render_job, jobs)

    async def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``function(item)`` for every item, in order, in the workers (``function`` is module-level, so
        that it pickles: e.g. a renderer that also post-processes the PDF, such as a Factur-X embedding)."""
        items = list(items)
        executor = self._executor()
        if executor is None:
            return [function(item) for item in items]
        size = max(1, -(-len(items) // self.workers))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(*(loop.run_in_executor(executor, _apply, function, chunk) for chunk in chunks))
        return [result for chunk in results for result in chunk]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
