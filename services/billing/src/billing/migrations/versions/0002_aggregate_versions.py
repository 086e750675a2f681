"""aggregate_versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:00:00.000000

"""
from typing import Sequence, Union

from alembic import op

from servicekit.tables import create_kit_tables, drop_kit_tables


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The version of each aggregate the service emitted items about (servicekit's kit table)."""
    create_kit_tables(op, ("aggregate_versions",))


def downgrade() -> None:
    drop_kit_tables(op, ("aggregate_versions",))
