"""BEN-02: the *accord RGPD* of each record and the agreement links already used."""

from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from importer.adapters import orm
from importer.domain.gdpr import GdprAgreement

_a, _u, _b = orm.gdpr_agreements, orm.gdpr_used_links, orm.beneficiaries


class SqlGdprAgreements:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, beneficiary_id: str) -> GdprAgreement:
        row = (await self.session.execute(select(_a).where(_a.c.beneficiary_id == beneficiary_id))).mappings().first()
        if row is None:
            return GdprAgreement()
        return GdprAgreement(row["status"], row["requested_at"], row["agreed_at"], row["paper_date"],
                             row["recorded_by"])

    async def contact(self, beneficiary_id: str) -> dict | None:
        """What a request needs of the record (None: unknown or purged)."""
        row = (await self.session.execute(select(_b.c.email, _b.c.accepts_email).where(
            _b.c.id == beneficiary_id, _b.c.purged_at.is_(None)))).mappings().first()
        return dict(row) if row else None

    async def _put(self, beneficiary_id: str, **values) -> None:
        s = self.session
        found = (await s.execute(select(_a.c.beneficiary_id).where(_a.c.beneficiary_id == beneficiary_id))).first()
        if found:
            await s.execute(update(_a).where(_a.c.beneficiary_id == beneficiary_id).values(**values))
        else:
            await s.execute(insert(_a).values(beneficiary_id=beneficiary_id, **values))

    async def requested(self, beneficiary_id: str, at: datetime) -> None:
        await self._put(beneficiary_id, status="requested", requested_at=at)

    async def agreed(self, beneficiary_id: str, form: str, at: datetime, paper_date: date | None = None,
                     recorded_by: str | None = None) -> None:
        await self._put(beneficiary_id, status=form, agreed_at=at, paper_date=paper_date, recorded_by=recorded_by)

    async def link_used(self, link_id: str) -> bool:
        return (await self.session.execute(select(_u.c.link_id).where(_u.c.link_id == link_id))).first() is not None

    async def use_link(self, link_id: str, beneficiary_id: str, at: datetime) -> None:
        await self.session.execute(insert(_u).values(link_id=link_id, beneficiary_id=beneficiary_id, used_at=at))
