"""core tables: catalogs, videos, runs, scenes, emotions, soundtracks, failures

Revision ID: 0001_core
Revises: 
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001_core'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uri', sa.String(length=2048), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogs')),
    sa.UniqueConstraint('uri', name=op.f('uq_catalogs_uri'))
    )
    op.create_table('runs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('run_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('catalog_uri', sa.String(length=2048), nullable=True),
    sa.Column('out_uri', sa.String(length=2048), nullable=True),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('code_version', sa.String(length=64), nullable=False),
    sa.Column('model_versions', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('n_videos', sa.Integer(), nullable=False),
    sa.Column('n_soundtracks', sa.Integer(), nullable=False),
    sa.Column('n_failures', sa.Integer(), nullable=False),
    sa.Column('video_seconds', sa.Float(), nullable=False),
    sa.Column('timings', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_run_key'), ['run_key'], unique=False)

    op.create_table('failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_key', sa.String(length=64), nullable=False),
    sa.Column('video_id', sa.String(length=64), nullable=True),
    sa.Column('uri', sa.String(length=2048), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('error_class', sa.String(length=256), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_failures_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failures')),
    sa.UniqueConstraint('video_key', 'stage', name=op.f('uq_failures_video_key_stage'))
    )
    with op.batch_alter_table('failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failures_video_id'), ['video_id'], unique=False)

    op.create_table('videos',
    sa.Column('video_id', sa.String(length=64), nullable=False),
    sa.Column('catalog_id', sa.Integer(), nullable=True),
    sa.Column('uri', sa.String(length=2048), nullable=False),
    sa.Column('content_key', sa.String(length=256), nullable=False),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('rotation', sa.Integer(), nullable=True),
    sa.Column('has_audio', sa.Boolean(), nullable=True),
    sa.Column('n_windows', sa.Integer(), nullable=True),
    sa.Column('cuts_raw_s', sa.JSON(), nullable=True),
    sa.Column('cuts_s', sa.JSON(), nullable=True),
    sa.Column('backbones', sa.JSON(), nullable=True),
    sa.Column('features_uri', sa.String(length=2048), nullable=True),
    sa.Column('extract_seconds', sa.Float(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catalog_id'], ['catalogs.id'], name=op.f('fk_videos_catalog_id_catalogs')),
    sa.PrimaryKeyConstraint('video_id', name=op.f('pk_videos')),
    sa.UniqueConstraint('uri', 'content_key', name=op.f('uq_videos_uri_content_key'))
    )
    op.create_table('scenes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.String(length=64), nullable=False),
    sa.Column('scene_index', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['video_id'], ['videos.video_id'], name=op.f('fk_scenes_video_id_videos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenes')),
    sa.UniqueConstraint('video_id', 'scene_index', name=op.f('uq_scenes_video_id_scene_index'))
    )
    op.create_table('soundtracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.String(length=64), nullable=False),
    sa.Column('variant_key', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('regenerated_scene', sa.Integer(), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('scene_seeds', sa.JSON(), nullable=False),
    sa.Column('generator_version', sa.String(length=128), nullable=False),
    sa.Column('generator_sha256', sa.String(length=64), nullable=False),
    sa.Column('classifier_version', sa.String(length=128), nullable=False),
    sa.Column('classifier_sha256', sa.String(length=64), nullable=False),
    sa.Column('code_version', sa.String(length=64), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('cuts_s', sa.JSON(), nullable=False),
    sa.Column('chord_onsets_s', sa.JSON(), nullable=False),
    sa.Column('sampling', sa.JSON(), nullable=False),
    sa.Column('render', sa.JSON(), nullable=False),
    sa.Column('midi_uri', sa.String(length=2048), nullable=False),
    sa.Column('audio_uri', sa.String(length=2048), nullable=False),
    sa.Column('video_uri', sa.String(length=2048), nullable=False),
    sa.Column('plot_uri', sa.String(length=2048), nullable=False),
    sa.Column('midi_sha256', sa.String(length=64), nullable=False),
    sa.Column('audio_sha256', sa.String(length=64), nullable=False),
    sa.Column('video_sha256', sa.String(length=64), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('loudness_lufs', sa.Float(), nullable=True),
    sa.Column('n_tokens', sa.Integer(), nullable=False),
    sa.Column('n_cuts', sa.Integer(), nullable=False),
    sa.Column('n_cuts_matched', sa.Integer(), nullable=False),
    sa.Column('mean_cut_offset_s', sa.Float(), nullable=True),
    sa.Column('timings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['soundtracks.id'], name=op.f('fk_soundtracks_parent_id_soundtracks')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_soundtracks_run_id_runs')),
    sa.ForeignKeyConstraint(['video_id'], ['videos.video_id'], name=op.f('fk_soundtracks_video_id_videos')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soundtracks')),
    sa.UniqueConstraint('video_id', 'variant_key', name=op.f('uq_soundtracks_video_id_variant_key'))
    )
    with op.batch_alter_table('soundtracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_soundtracks_classifier_version'), ['classifier_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_soundtracks_generator_version'), ['generator_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_soundtracks_video_id'), ['video_id'], unique=False)

    op.create_table('emotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scene_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('classifier_version', sa.String(length=128), nullable=False),
    sa.Column('classifier_sha256', sa.String(length=64), nullable=False),
    sa.Column('anger', sa.Float(), nullable=False),
    sa.Column('disgust', sa.Float(), nullable=False),
    sa.Column('fear', sa.Float(), nullable=False),
    sa.Column('joy', sa.Float(), nullable=False),
    sa.Column('sadness', sa.Float(), nullable=False),
    sa.Column('surprise', sa.Float(), nullable=False),
    sa.Column('dominant', sa.String(length=16), nullable=False),
    sa.Column('valence', sa.Float(), nullable=False),
    sa.Column('arousal', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.run_id'], name=op.f('fk_emotions_run_id_runs')),
    sa.ForeignKeyConstraint(['scene_id'], ['scenes.id'], name=op.f('fk_emotions_scene_id_scenes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emotions')),
    sa.UniqueConstraint('scene_id', 'classifier_sha256', name=op.f('uq_emotions_scene_id_classifier_sha256'))
    )
    with op.batch_alter_table('emotions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emotions_arousal'), ['arousal'], unique=False)
        batch_op.create_index(batch_op.f('ix_emotions_dominant'), ['dominant'], unique=False)
        batch_op.create_index(batch_op.f('ix_emotions_scene_id'), ['scene_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emotions_valence'), ['valence'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('emotions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emotions_valence'))
        batch_op.drop_index(batch_op.f('ix_emotions_scene_id'))
        batch_op.drop_index(batch_op.f('ix_emotions_dominant'))
        batch_op.drop_index(batch_op.f('ix_emotions_arousal'))

    op.drop_table('emotions')
    with op.batch_alter_table('soundtracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_soundtracks_video_id'))
        batch_op.drop_index(batch_op.f('ix_soundtracks_generator_version'))
        batch_op.drop_index(batch_op.f('ix_soundtracks_classifier_version'))

    op.drop_table('soundtracks')
    op.drop_table('scenes')
    op.drop_table('videos')
    with op.batch_alter_table('failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failures_video_id'))

    op.drop_table('failures')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_run_key'))

    op.drop_table('runs')
    op.drop_table('catalogs')
