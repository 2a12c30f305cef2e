"""Uploads are limited while they arrive, not after they have been spooled to disk.

Django writes an upload's files to the temporary directory as it reads the request body, and the
portal's own size check (`entries.ingestion.services.check_upload_size`) ran only once the whole file was there: a
6 GiB body wrote 3.2 GB before the process died. Now:

- `UploadLimitMiddleware` refuses a request whose declared `Content-Length` is over
  UPLOAD_REQUEST_MAX_BYTES before anything reads its body (so nothing of it is written anywhere);
- `UploadLimitHandler`, first of FILE_UPLOAD_HANDLERS, counts each file's bytes as they arrive and stops
  the upload once one passes UPLOAD_MAX_BYTES (or all together pass UPLOAD_REQUEST_MAX_BYTES): the part
  already written is deleted with its temporary file, and the rest of the body is not read;
- either way the person gets a 413 page saying what the limit is.

A body without a Content-Length (chunked) is not read by Django at all (WSGI), so it cannot get around
the count. docs/SECURITY.md, "Uploads".
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

_WHAT_TO_DO = "Export a shorter date range from ACE, or ask your broker to import the file for you."


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.0f} MB"


def _limits() -> str:
    return (
        f"the limit is {_mb(settings.UPLOAD_MAX_BYTES)} per file and "
        f"{_mb(settings.UPLOAD_REQUEST_MAX_BYTES)} for one upload"
    )


def refuse(request, message: str):
    back = request.META.get("HTTP_REFERER") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return render(request, "upload_too_large.html", {"message": message, "back_url": back}, status=413)


class UploadLimitHandler(FileUploadHandler):
    """Counts the bytes of each file and of the whole upload as they arrive; stops past a limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.total = 0
        return None  # the parsing itself is Django's

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.file_bytes = 0

    def receive_data_chunk(self, raw_data, start):
        self.file_bytes += len(raw_data)
        self.total = getattr(self, "total", 0) + len(raw_data)
        if self.file_bytes > settings.UPLOAD_MAX_BYTES or self.total > settings.UPLOAD_REQUEST_MAX_BYTES:
            self.request.upload_refused = (
                f"{self.file_name or 'This file'} is larger than we accept: {_limits()}. "
                f"Nothing of it was kept. {_WHAT_TO_DO}"
            )
            # The file written so far is closed (and so deleted) by Django; the rest is not read.
            raise StopUpload(connection_reset=True)
        return raw_data  # on to the handler that keeps it (memory or a temporary file)

    def file_complete(self, file_size):
        return None  # the next handler makes the file


class UploadLimitMiddleware:
    """Refuses an over-large upload by its Content-Length, and shows the handler's refusal (a 413 page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.UPLOAD_REQUEST_MAX_BYTES:
            return refuse(
                request,
                f"This upload is {_mb(declared)}, larger than we accept: {_limits()}. Nothing of it was "
                f"read or kept. Upload fewer files at a time. {_WHAT_TO_DO}",
            )
        if request.method == "POST" and request.content_type == "multipart/form-data":
            # Parsed here, through UploadLimitHandler, before CSRF's check reads it: a file cut off before
            # the form's other fields would otherwise end as a CSRF failure instead of this page.
            try:
                request.POST  # noqa: B018
            except (MultiPartParserError, OSError):
                pass  # malformed or cut off by the client: handled downstream as before (CSRF refuses it)
            if refused := getattr(request, "upload_refused", None):
                return refuse(request, refused)
        return self.get_response(request)
