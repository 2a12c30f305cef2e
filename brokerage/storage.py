"""Where client files live: the local disk (the embedded default) or an S3-compatible object store.

Neither storage has a URL: every file is read back only by a view that checked the client scope
(`file_response`) or by the code that processes it (`local_path`). See docs/ARCHITECTURE.md, "Files".
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

_NO_URL = "Private files have no public URL; serve them through an authenticated view."
_CHUNK = 1024 * 1024


class PrivateFileStorage(FileSystemStorage):
    """Client files on disk with no public URL: they are served only by views that check the client scope."""

    def url(self, name):
        raise ValueError(_NO_URL)

    def open_stream(self, name: str) -> tuple[IO[bytes], int | None]:
        return self.open(name, "rb"), None

    def copy_to(self, name: str, target: IO[bytes]) -> None:
        with self.open(name, "rb") as source:
            shutil.copyfileobj(source, target, _CHUNK)


class PrivateS3Storage(S3Storage):
    """Client files in an S3-compatible bucket (private; server-side encrypted when configured), no URL.

    Reads never hold a whole object in memory: downloads stream the object's body (`open_stream`), the
    import copies it to a local file in chunks (`copy_to`), and `open()` spools to disk past a few MB.
    """

    def __init__(self, **options):
        options.setdefault("file_overwrite", False)  # two uploads of the same name never replace each other
        options.setdefault("default_acl", None)  # objects inherit the bucket's (private) access
        options.setdefault("max_memory_size", 4 * 1024 * 1024)  # S3File spools to disk beyond this
        super().__init__(**options)

    def url(self, name, parameters=None, expire=None, http_method=None):
        raise ValueError(_NO_URL)

    def _key(self, name: str) -> str:
        return self._normalize_name(clean_name(name))

    def open_stream(self, name: str) -> tuple[IO[bytes], int | None]:
        response = self.bucket.Object(self._key(name)).get()
        return response["Body"], response["ContentLength"]

    def copy_to(self, name: str, target: IO[bytes]) -> None:
        self.bucket.Object(self._key(name)).download_fileobj(target, Config=self.transfer_config)


def file_response(
    field_file: FieldFile, *, filename: str = "", as_attachment: bool = True, content_type: str | None = None
) -> FileResponse:
    """A checked view's answer with a stored file, streamed from the storage in chunks (memory stays flat)."""
    stream, size = field_file.storage.open_stream(field_file.name)
    response = FileResponse(stream, as_attachment=as_attachment, filename=filename, content_type=content_type)
    if size is not None:
        response["Content-Length"] = str(size)
    return response


@contextmanager
def local_path(field_file: FieldFile) -> Iterator[str]:
    """A path on this machine to read a stored file from, for code that needs one (the import's two halves).

    On the local disk it is the stored file itself; from an object store, a copy written in chunks to the
    temporary directory and removed when the block ends, however it ends.
    """
    storage = field_file.storage
    if isinstance(storage, FileSystemStorage):
        yield storage.path(field_file.name)
        return
    suffix = os.path.splitext(field_file.name)[1]
    with tempfile.NamedTemporaryFile(prefix="portal-copy-", suffix=suffix) as copy:
        storage.copy_to(field_file.name, copy)
        copy.flush()
        yield copy.name
