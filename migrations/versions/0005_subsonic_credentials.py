"""Subsonic app passwords: per-device credentials of the Subsonic API, kept as a keyed digest
(``lookup``) and, for token authentication, the secret sealed under a key outside the database.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subsonic_credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("lookup", sa.String(64), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary()),
        sa.Column("hint", sa.String(4), nullable=False),
        sa.Column("created_at", Timestamp, server_default=sa.func.now(), nullable=False),
        sa.Column("last_used_at", Timestamp),
        sa.Column("last_client", sa.String(100)),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_subsonic_credentials_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsonic_credentials")),
        sa.UniqueConstraint("lookup", name=op.f("uq_subsonic_credentials_lookup")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_subsonic_credentials_user_id_name")),
    )


def downgrade() -> None:
    op.drop_table("subsonic_credentials")
