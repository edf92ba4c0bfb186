"""Serving an uploaded file (evidence) after the caller's view has checked the user's scope.

Media are never served as public files: with ``PROTECTED_MEDIA_REDIRECT`` set (nginx's internal location,
``/protected-media/``) and files on the local disk, the web server sends the file after the check
(X-Accel-Redirect); else (object storage too) Django streams it from the storage. The file is always an
attachment, so a browser never renders it as a page of the portal.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header


def protected_file(file: FieldFile | None) -> HttpResponseBase:
    """The stored ``file`` as an attachment; 404 when there is none (or it is gone from the storage)."""
    if not file or not file.name:
        raise Http404
    name: str = file.name
    filename = name.rsplit("/", 1)[-1]
    prefix = settings.PROTECTED_MEDIA_REDIRECT
    # nginx can hand over only files on its own disk; from object storage (STORAGE_BACKEND=s3) Django streams
    # the file itself, so the bucket stays private and no signed URL ever leaves the portal.
    response: HttpResponseBase
    if prefix and isinstance(file.storage, FileSystemStorage):
        response = HttpResponse(content_type="application/octet-stream")
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{quote(name)}"
    else:
        try:
            handle = file.open("rb")
        except (FileNotFoundError, OSError):
            raise Http404 from None
        response = FileResponse(handle, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
