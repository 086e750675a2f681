"""gdpr agreement

Revision ID: 0007_gdpr_agreement
Revises: 0006_benedit
Create Date: 2026-12-03 07:30:00.000000

BEN-02: each record's *accord RGPD* and the agreement links already used (single use).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007_gdpr_agreement'
down_revision: Union[str, Sequence[str], None] = '0006_benedit'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('gdpr_agreements',
    sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('agreed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paper_date', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('beneficiary_id')
    )
    op.create_table('gdpr_used_links',
    sa.Column('link_id', sa.String(length=36), nullable=False),
    sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('link_id')
    )
    op.create_index(op.f('ix_gdpr_used_links_beneficiary_id'), 'gdpr_used_links', ['beneficiary_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_gdpr_used_links_beneficiary_id'), table_name='gdpr_used_links')
    op.drop_table('gdpr_used_links')
    op.drop_table('gdpr_agreements')
