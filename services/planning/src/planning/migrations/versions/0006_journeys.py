"""journeys: enrolments (parcours) with their form and closing, their history, the ODS's journey settings

Revision ID: 0006
Revises: 0005

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('ods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration_days', sa.Integer(), server_default='90', nullable=False))
        batch_op.add_column(sa.Column('bilan_reasons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('early_exit_reasons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('abandon_reasons', sa.JSON(), nullable=True))
    op.create_table('enrolments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('beneficiary_id', sa.String(length=64), nullable=False),
    sa.Column('ods_code', sa.String(length=50), nullable=False),
    sa.Column('resource_code', sa.String(length=50), nullable=False),
    sa.Column('site_code', sa.String(length=50), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('start_edited', sa.Boolean(), nullable=False),
    sa.Column('end_edited', sa.Boolean(), nullable=False),
    sa.Column('form_started', sa.Boolean(), nullable=False),
    sa.Column('order_number', sa.String(length=100), nullable=True),
    sa.Column('prescriber', sa.String(length=200), nullable=True),
    sa.Column('agency_code', sa.String(length=50), nullable=True),
    sa.Column('prestappli_initial_on', sa.Date(), nullable=True),
    sa.Column('prestappli_final_on', sa.Date(), nullable=True),
    sa.Column('initial_interview_on', sa.Date(), nullable=True),
    sa.Column('initial_outcome', sa.String(length=20), nullable=True),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('bilan_reason', sa.String(length=200), nullable=True),
    sa.Column('bilan_detail', sa.Text(), nullable=True),
    sa.Column('early_exit_reason', sa.String(length=200), nullable=True),
    sa.Column('abandon_reason', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('closings', sa.Integer(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('awaiting_correction', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index('ix_enrolments_status_end', ['status', 'end_on'], unique=False)
        batch_op.create_index('ix_enrolments_start', ['start_on'], unique=False)
    op.create_table('journey_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('enrolment_id', sa.String(length=36), nullable=False),
    sa.Column('beneficiary_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('journey_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_history_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_history_beneficiary_id'), ['beneficiary_id'], unique=False)


def downgrade() -> None:
    op.drop_table('journey_history')
    op.drop_table('enrolments')
    with op.batch_alter_table('ods', schema=None) as batch_op:
        batch_op.drop_column('abandon_reasons')
        batch_op.drop_column('early_exit_reasons')
        batch_op.drop_column('bilan_reasons')
        batch_op.drop_column('duration_days')
