"""doublons and merges (BEN-03): blind indexes, merged records, merges, the index secret

Revision ID: 0008_benmerge
Revises: 0007_gdpr_agreement

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from servicekit.sql import UtcDateTime
from servicekit.merges import create_merges_table


# revision identifiers, used by Alembic.
revision: str = '0008_benmerge'
down_revision: Union[str, Sequence[str], None] = '0007_gdpr_agreement'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """BEN-03: blind indexes of the records, where a merged record went, the merges, the indexes' secret."""
    with op.batch_alter_table("beneficiaries") as batch:
        batch.add_column(sa.Column("ft_id_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("identity_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("merged_at", UtcDateTime(), nullable=True))
        batch.create_index("ix_beneficiaries_ft_id_hash", ["ft_id_hash"])
        batch.create_index("ix_beneficiaries_identity_hash", ["identity_hash"])
    op.create_table("identity_secret",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("secret", sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    create_merges_table(op)


def downgrade() -> None:
    op.drop_table("beneficiary_merges")
    op.drop_table("identity_secret")
    with op.batch_alter_table("beneficiaries") as batch:
        batch.drop_index("ix_beneficiaries_identity_hash")
        batch.drop_index("ix_beneficiaries_ft_id_hash")
        for column in ("merged_at", "merged_into", "identity_hash", "ft_id_hash"):
            batch.drop_column(column)
