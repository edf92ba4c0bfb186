"""Moved to ``portal/upload_safety.py`` (the bottom layer), so that every app's import can use it — the schools
app's designation import included. Existing imports keep working through these names; new code imports
``portal.upload_safety``."""

from portal.upload_safety import *  # noqa: F403
from portal.upload_safety import (  # noqa: F401  (names a star import leaves out or that callers use)
    CT_NS,
    OLE_MAGIC,
    ZIP_MAGIC,
    UploadLimitHandler,
    UploadRejected,
    check_size_and_read_head,
    check_xlsx_upload,
    check_zip_bomb,
    read_bounded,
    scan_part,
)
