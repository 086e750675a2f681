"""participations by beneficiary

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:20:00

Each batch of ``ParticipantAdded`` (and every ``RegistrationRecorded`` batch) reads the
participations of its people by ``beneficiary_id``, which the primary key (action first) does not
serve: without this index every batch scanned the whole table.
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participations_beneficiary_id'), ['beneficiary_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participations_beneficiary_id'))
