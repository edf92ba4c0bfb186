"""The bulletin's PDF: the .docx converted by LibreOffice headless (``settings.LIBREOFFICE_BIN``).

Each run has its own LibreOffice profile (``-env:UserInstallation``) in a temporary directory, so parallel
conversions do not fight over one profile, and a time limit (``settings.BULLETIN_PDF_TIMEOUT``). Any failure
is a ``PdfError`` whose message says why, for the job's note ("PDF 未生成：…"); the .docx is delivered anyway.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 (a fixed program with our own arguments, no shell)
import tempfile
from pathlib import Path

from django.conf import settings


class PdfError(Exception):
    """The PDF could not be produced; the message is the reason shown to the user."""


def libreoffice() -> str | None:
    """The LibreOffice program to run, or None when it is not installed."""
    return shutil.which(settings.LIBREOFFICE_BIN or "soffice")


def convert(docx: bytes, timeout: int | None = None, suffix: str = ".docx") -> bytes:
    """The PDF of the document ``docx`` (bytes in, bytes out; ``suffix`` names its kind: ``.xlsx`` for a workbook)."""
    program = libreoffice()
    if program is None:
        raise PdfError(f"LibreOffice ({settings.LIBREOFFICE_BIN}) is not installed")
    with tempfile.TemporaryDirectory(prefix="bulletin-") as tmp:
        work = Path(tmp)
        source = work / f"bulletin{suffix}"
        source.write_bytes(docx)
        command = [
            program,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(source),
        ]
        try:
            result = subprocess.run(  # nosec B603 (no shell; the program comes from settings)
                command,
                capture_output=True,
                timeout=timeout or settings.BULLETIN_PDF_TIMEOUT,
                check=False,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"LibreOffice timed out after {exc.timeout:g} s") from exc
        except OSError as exc:
            raise PdfError(f"LibreOffice could not start: {exc.strerror or exc}") from exc
        target = work / "bulletin.pdf"
        if result.returncode != 0 or not target.is_file():
            detail = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
            raise PdfError(f"LibreOffice exit {result.returncode}: {detail[-1] if detail else 'no PDF written'}")
        return target.read_bytes()
