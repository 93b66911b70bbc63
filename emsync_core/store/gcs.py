"""The google-cloud-storage client, shared per process; honours STORAGE_EMULATOR_HOST for tests."""

from __future__ import annotations

import functools
import os

from google.cloud import storage


@functools.cache
def client() -> storage.Client:
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT", "emsync-local"), credentials=AnonymousCredentials())
    return storage.Client()


def split(uri: str) -> tuple[str, str]:
    """gs://bucket/a/b -> (bucket, a/b)."""
    rest = uri[len("gs://") :]
    bucket, _, key = rest.partition("/")
    return bucket, key
