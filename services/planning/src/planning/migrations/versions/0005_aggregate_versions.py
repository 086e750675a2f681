"""aggregate_versions: the version of each aggregate planning emits items about

Revision ID: 0005
Revises: 0004

"""
from typing import Sequence, Union

from alembic import op

from servicekit.tables import create_kit_tables, drop_kit_tables


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_kit_tables(op, ("aggregate_versions",))


def downgrade() -> None:
    drop_kit_tables(op, ("aggregate_versions",))
