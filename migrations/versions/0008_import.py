"""Content hashes for the library import: ``audio_files.content_hash`` (the SHA-256 of the stored
bytes, hex; null for files uploaded before this revision) and an index on (owner_id, content_hash),
so ``sono library import`` finds a file already imported for its owner in one indexed read.

Plain ``ADD COLUMN``/``DROP COLUMN`` on SQLite too (3.35+): a batch operation would rebuild the table
and lose the counting triggers of revision 0003.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("audio_files", sa.Column("content_hash", sa.String(64)))
    op.create_index("ix_audio_files_owner_id_content_hash", "audio_files", ["owner_id", "content_hash"])


def downgrade() -> None:
    op.drop_index("ix_audio_files_owner_id_content_hash", table_name="audio_files")
    op.drop_column("audio_files", "content_hash")
