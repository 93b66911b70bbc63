"""studies: consent and listening note, link base URL, cut counts, served times, twin media; absolute output paths

Soundtrack rows written before this revision may hold output paths relative to the folder `emsync
score` ran from. Each such path is made absolute against the first of these folders where the file
exists: the current folder, the SQLite database's folder, and the folder that held the run's output
folder (the database's folder minus the run's relative `--out`). Paths whose file is found nowhere
are left as they are and named in the log.

Revision ID: 0003_studies
Revises: 0002_study
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa
from alembic import op

from emsync_core.db.analyst_views import drop_views, install_views

revision = '0004_studies'
down_revision = '0003_safety'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
OUTPUT_URI_COLUMNS = ("midi_uri", "audio_uri", "video_uri", "plot_uri")


def _is_relative(uri: str) -> bool:
    return bool(uri) and "://" not in uri and not os.path.isabs(uri)


def _bases(bind, out_uri: str | None) -> list[str]:
    bases = [os.getcwd()]
    database = bind.engine.url.database if bind.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        db_dir = os.path.dirname(os.path.abspath(database))
        bases.append(db_dir)
        if out_uri and _is_relative(out_uri):
            out_parts = os.path.normpath(out_uri).split(os.sep)
            if db_dir.split(os.sep)[-len(out_parts):] == out_parts:
                bases.append(os.sep.join(db_dir.split(os.sep)[:-len(out_parts)]) or os.sep)
    return bases


def _absolute_output_paths() -> None:
    bind = op.get_bind()
    soundtracks = sa.table("soundtracks", sa.column("id", sa.Integer), sa.column("run_id", sa.String),
                           *(sa.column(c, sa.String) for c in OUTPUT_URI_COLUMNS))
    runs = sa.table("runs", sa.column("run_id", sa.String), sa.column("out_uri", sa.String))
    out_uris = dict(bind.execute(sa.select(runs.c.run_id, runs.c.out_uri)).all())
    for row in bind.execute(sa.select(soundtracks)).mappings().all():
        values = {}
        for column in OUTPUT_URI_COLUMNS:
            uri = row[column]
            if not _is_relative(uri):
                continue
            found = next((os.path.join(b, uri) for b in _bases(bind, out_uris.get(row["run_id"]))
                          if os.path.exists(os.path.join(b, uri))), None)
            if found is None:
                log.warning("soundtrack %s: %s %r is relative and its file was not found; left as it is",
                            row["id"], column, uri)
            else:
                values[column] = os.path.normpath(found)
        if values:
            bind.execute(sa.update(soundtracks).where(soundtracks.c.id == row["id"]).values(**values))


def upgrade() -> None:
    drop_views(op.get_bind())
    with op.batch_alter_table('study_studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_text', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('listening_note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('base_url', sa.String(length=500), nullable=False, server_default=''))
    with op.batch_alter_table('study_criteria', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_cuts', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('study_videos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_cuts', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('study_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_served_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('second_served_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('study_media', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_study_media_purpose'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_study_media_purpose'), "purpose in ('arm', 'mismatch', 'twin')")
    for table, column in (('study_studies', 'consent_text'), ('study_studies', 'listening_note'),
                          ('study_studies', 'base_url'), ('study_criteria', 'needs_cuts'), ('study_videos', 'n_cuts')):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)
    _absolute_output_paths()
    install_views(op.get_bind())


def downgrade() -> None:
    drop_views(op.get_bind())
    op.execute("DELETE FROM study_media WHERE purpose = 'twin'")
    with op.batch_alter_table('study_media', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_study_media_purpose'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_study_media_purpose'), "purpose in ('arm', 'mismatch')")
    with op.batch_alter_table('study_items', schema=None) as batch_op:
        batch_op.drop_column('second_served_at')
        batch_op.drop_column('first_served_at')
    with op.batch_alter_table('study_videos', schema=None) as batch_op:
        batch_op.drop_column('n_cuts')
    with op.batch_alter_table('study_criteria', schema=None) as batch_op:
        batch_op.drop_column('needs_cuts')
    with op.batch_alter_table('study_studies', schema=None) as batch_op:
        batch_op.drop_column('base_url')
        batch_op.drop_column('listening_note')
        batch_op.drop_column('consent_text')
    install_views(op.get_bind())
