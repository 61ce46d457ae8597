"""What a member of staff may upload as a resource, decided from the bytes.

The name's extension must agree with what the first bytes say the file is; the browser's
declared type is ignored. Anything not listed (HTML, SVG, scripts, executables, archives)
is refused, as are empty files, names that try to leave their folder and files over
``MATMIS_RESOURCE_MAX_BYTES``. A refusal raises ``UploadRefused`` with a message for the
person; nothing has been stored by then.
"""

import os
import unicodedata
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

HEAD_BYTES = 4096


class UploadRefused(Exception):
    pass


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", "PDF document", (".pdf",))
PNG = FileType("image/png", "PNG image", (".png",))
JPEG = FileType("image/jpeg", "JPEG image", (".jpg", ".jpeg"))
GIF = FileType("image/gif", "GIF image", (".gif",))
WEBP = FileType("image/webp", "WebP image", (".webp",))
MP4 = FileType("video/mp4", "MP4 video", (".mp4", ".m4v"))
QUICKTIME = FileType("video/quicktime", "QuickTime video", (".mov",))
WEBM = FileType("video/webm", "WebM video", (".webm",))
MP3 = FileType("audio/mpeg", "MP3 audio", (".mp3",))
M4A = FileType("audio/mp4", "M4A audio", (".m4a",))
WAV = FileType("audio/wav", "WAV audio", (".wav",))
OGG = FileType("audio/ogg", "Ogg audio", (".ogg", ".oga"))
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "Word document",
    (".docx",),
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "Excel workbook",
    (".xlsx",),
)
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "PowerPoint presentation",
    (".pptx",),
)
TEXT = FileType("text/plain", "text file", (".txt",))

ACCEPTED = (
    PDF,
    PNG,
    JPEG,
    GIF,
    WEBP,
    MP4,
    QUICKTIME,
    WEBM,
    MP3,
    M4A,
    WAV,
    OGG,
    DOCX,
    XLSX,
    PPTX,
    TEXT,
)
ACCEPTED_EXTENSIONS = sorted({ext for t in ACCEPTED for ext in t.extensions})
ACCEPTED_PHRASE = ", ".join(ext.lstrip(".").upper() for ext in ACCEPTED_EXTENSIONS)

_OFFICE_FOLDERS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
_MARKUP_STARTS = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<head", b"<body")


def max_bytes() -> int:
    return settings.MATMIS_RESOURCE_MAX_BYTES


def size_phrase(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def clean_name(name: str) -> str:
    """The uploaded file's name to show, refused if it tries to name a folder."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise UploadRefused("The file has no name: choose the file again.")
    if (
        "/" in name
        or "\\" in name
        or name.startswith(".")
        or ".." in name
        or any(unicodedata.category(ch).startswith("C") for ch in name)
    ):
        raise UploadRefused(
            "The file's name names a folder or contains hidden characters: rename the file "
            "(letters, numbers, spaces and a single extension) and upload it again."
        )
    return name[:255]


def _sniff_zip(upload: UploadedFile) -> FileType | None:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for folder, file_type in _OFFICE_FOLDERS.items():
        if any(n.startswith(folder) for n in names):
            return file_type
    return None


def sniff(head: bytes, upload: UploadedFile | None = None) -> FileType | None:
    """What the bytes are, among ``ACCEPTED``; None for anything else."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return QUICKTIME
        if brand in (b"M4A ", b"M4B "):
            return M4A
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return WEBM
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    if head.startswith(b"PK\x03\x04") and upload is not None:
        return _sniff_zip(upload)
    return _sniff_text(head)


def _sniff_text(head: bytes) -> FileType | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The head may end inside a character: allow a cut of up to 3 bytes.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text.lstrip("\ufeff \t\r\n").lower().encode().startswith(_MARKUP_STARTS):
        return None  # markup a browser would run
    return TEXT


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    file_type: FileType
    size: int


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """``upload`` checked: its name, the type its bytes show, its size. Raises
    ``UploadRefused`` with what to do instead."""
    name = clean_name(upload.name)
    size = upload.size or 0
    if size == 0:
        raise UploadRefused(f"“{name}” is empty (0 bytes): choose the file again.")
    if size > max_bytes():
        raise UploadRefused(
            f"“{name}” is {size_phrase(size)}; files can be at most {size_phrase(max_bytes())}."
        )
    extension = os.path.splitext(name)[1].lower()
    if extension not in ACCEPTED_EXTENSIONS:
        raise UploadRefused(
            f"“{name}” is not a kind of file that can be shared here. Accepted: {ACCEPTED_PHRASE}."
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    file_type = sniff(head, upload)
    upload.seek(0)
    if file_type is None:
        raise UploadRefused(
            f"“{name}” does not contain what its name says ({extension}), or is a kind of "
            f"file that cannot be shared here. Accepted: {ACCEPTED_PHRASE}."
        )
    if extension not in file_type.extensions:
        raise UploadRefused(
            f"“{name}” is named {extension} but its contents are a {file_type.label}: rename "
            f"it to {file_type.extensions[0]} or choose the right file."
        )
    return CheckedUpload(name=name, file_type=file_type, size=size)
