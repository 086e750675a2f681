"""beneficiary corrections (BEN-01)

Revision ID: 0006_benedit
Revises: 0005
Create Date: 2026-12-03 07:30:00.000000

The postal address, each consent's source and date, the identity fields staff corrected (a later
list keeps them), and the history of corrections. Records an
import created get France Travail's prescription as the source of their consents, at their creation.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006_benedit'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CONSENTS = ('email', 'sms')


def upgrade() -> None:
    with op.batch_alter_table('beneficiaries') as batch:
        batch.add_column(sa.Column('address', sa.Text(), nullable=True))
        for channel in CONSENTS:
            batch.add_column(sa.Column(f'{channel}_consent_source', sa.String(length=40), nullable=True))
            batch.add_column(sa.Column(f'{channel}_consent_at', sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column(f'{channel}_consent_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('corrected_fields', sa.String(length=200), nullable=True))
    b = sa.table('beneficiaries', sa.column('created_by_import', sa.Boolean()),
                 sa.column('created_at', sa.DateTime(timezone=True)),
                 *(sa.column(f'{c}_consent_{p}') for c in CONSENTS for p in ('source', 'at')))
    op.execute(b.update().where(b.c.created_by_import.is_(True)).values(
        **{f'{c}_consent_source': 'prescription France Travail' for c in CONSENTS},
        **{f'{c}_consent_at': b.c.created_at for c in CONSENTS}))
    op.create_table('beneficiary_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('sealed', sa.Boolean(), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_beneficiary_changes_beneficiary_id', 'beneficiary_changes', ['beneficiary_id'])


def downgrade() -> None:
    op.drop_index('ix_beneficiary_changes_beneficiary_id', table_name='beneficiary_changes')
    op.drop_table('beneficiary_changes')
    with op.batch_alter_table('beneficiaries') as batch:
        batch.drop_column('corrected_fields')
        for channel in reversed(CONSENTS):
            for part in ('by', 'at', 'source'):
                batch.drop_column(f'{channel}_consent_{part}')
        batch.drop_column('address')
