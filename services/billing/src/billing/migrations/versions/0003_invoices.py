"""invoices: drafts, issued invoices and credit notes, numbering, beneficiaries, VAT settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 04:10:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('legal_entities') as batch:
        batch.add_column(sa.Column('vat_category', sa.String(length=2), nullable=False, server_default='O'))
        batch.add_column(sa.Column('vat_exemption_reason', sa.Text(), nullable=False, server_default=''))
    op.create_table('beneficiaries',
    sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('beneficiary_id')
    )
    op.create_table('numbering',
    sa.Column('legal_entity', sa.String(length=50), nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('legal_entity')
    )
    op.create_table('invoices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('enrolment_id', sa.String(length=36), nullable=False),
    sa.Column('closing', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
    sa.Column('ods', sa.String(length=50), nullable=False),
    sa.Column('resource', sa.String(length=50), nullable=False),
    sa.Column('site', sa.String(length=50), nullable=False),
    sa.Column('ods_start', sa.Date(), nullable=False),
    sa.Column('ods_end', sa.Date(), nullable=False),
    sa.Column('order_number', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('outcome_date', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('legal_entity', sa.String(length=50), nullable=True),
    sa.Column('funder', sa.String(length=50), nullable=True),
    sa.Column('tariff_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('percentage', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('credits', sa.String(length=36), nullable=True),
    sa.Column('credited_by', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('to_credit', sa.Text(), nullable=True),
    sa.Column('xml', sa.Text(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('chorus_status', sa.String(length=12), nullable=True),
    sa.Column('chorus_flow', sa.String(length=50), nullable=True),
    sa.Column('chorus_reason', sa.Text(), nullable=True),
    sa.Column('chorus_attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('chorus_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index('ix_invoices_status', 'invoices', ['status', 'legal_entity'], unique=False)
    op.create_index('ix_invoices_enrolment', 'invoices', ['enrolment_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_invoices_enrolment', table_name='invoices')
    op.drop_index('ix_invoices_status', table_name='invoices')
    op.drop_table('invoices')
    op.drop_table('numbering')
    op.drop_table('beneficiaries')
    with op.batch_alter_table('legal_entities') as batch:
        batch.drop_column('vat_exemption_reason')
        batch.drop_column('vat_category')
