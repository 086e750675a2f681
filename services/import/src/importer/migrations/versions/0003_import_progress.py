"""import progress

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 19:00:00.000000

The imports under way, by upload id: the progress route reads it on any replica.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('import_progress',
    sa.Column('upload_id', sa.String(length=100), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('upload_id')
    )


def downgrade() -> None:
    op.drop_table('import_progress')
