"""What a test reads to prove personal data is gone (X-04): every value of every table, as text."""

import json

from sqlalchemy import MetaData, select, text
from sqlalchemy.ext.asyncio import AsyncEngine


async def database_text(engine: AsyncEngine, schemas: list[str] | None = None) -> str:
    """Every value of every table reachable on ``engine`` (or in each of ``schemas``), one row a line."""
    chunks = []
    async with engine.connect() as conn:
        for schema in schemas or [None]:
            if schema:
                await conn.execute(text(f'SET search_path TO "{schema}"'))
            metadata = MetaData()
            await conn.run_sync(lambda c: metadata.reflect(c))
            for table in metadata.sorted_tables:
                chunks += [json.dumps([str(v) for v in row], ensure_ascii=False)
                           for row in await conn.execute(select(table))]
    return "\n".join(chunks)
