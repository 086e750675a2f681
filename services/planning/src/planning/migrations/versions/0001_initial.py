"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 21:02:46.830871

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from servicekit.tables import create_kit_tables, drop_kit_tables


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    create_kit_tables(op)
    op.create_table('advisors',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('remote', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('antennes',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('ods',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('special_service', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('referential_versions',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('version'),
    sa.UniqueConstraint('digest', 'version')
    )
    op.create_table('structure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ods_steps',
    sa.Column('ods_code', sa.String(length=50), nullable=False),
    sa.Column('step_order', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('action_type', sa.String(length=50), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('nature', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['ods_code'], ['ods.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ods_code', 'step_order')
    )
    op.create_table('resources',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('antenne_code', sa.String(length=50), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('market_number', sa.String(length=100), nullable=False),
    sa.Column('lot_number', sa.String(length=20), nullable=False),
    sa.Column('ods_code', sa.String(length=50), nullable=False),
    sa.Column('lead_contractor', sa.String(length=200), nullable=False),
    sa.Column('funder', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('setting_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['antenne_code'], ['antennes.code'], ),
    sa.ForeignKeyConstraint(['ods_code'], ['ods.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('sites',
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('antenne_code', sa.String(length=50), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('remote', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['antenne_code'], ['antennes.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('advisor_sites',
    sa.Column('advisor_code', sa.String(length=50), nullable=False),
    sa.Column('site_code', sa.String(length=50), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['advisor_code'], ['advisors.code'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_code'], ['sites.code'], ),
    sa.PrimaryKeyConstraint('advisor_code', 'site_code')
    )
    op.create_table('ods_sites',
    sa.Column('ods_code', sa.String(length=50), nullable=False),
    sa.Column('site_code', sa.String(length=50), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ods_code'], ['ods.code'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_code'], ['sites.code'], ),
    sa.PrimaryKeyConstraint('ods_code', 'site_code')
    )
    op.create_table('site_ft_addresses',
    sa.Column('site_code', sa.String(length=50), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('normalised', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['site_code'], ['sites.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_code', 'position'),
    sa.UniqueConstraint('normalised')
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    """Downgrade schema."""
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_table('site_ft_addresses')
    op.drop_table('ods_sites')
    op.drop_table('advisor_sites')
    op.drop_table('sites')
    op.drop_table('resources')
    op.drop_table('ods_steps')
    op.drop_table('structure')
    op.drop_table('referential_versions')
    op.drop_table('ods')
    op.drop_table('antennes')
    op.drop_table('advisors')
    drop_kit_tables(op)
