"""Serving a resource's file after the sharing check: whole, or the byte range a video
player asks for (RFC 9110 single ranges; several ranges are answered whole)."""

import re
from urllib.parse import quote

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

from .models import Resource

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Shown in the page (a player, an image): the rest is always downloaded, never rendered.
INLINE_PREFIXES = ("video/", "audio/", "image/")


def byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """The (first, last) bytes a ``Range`` header asks for; None to send the whole file
    (no header, or one we do not serve partially); False when it cannot be satisfied."""
    match = _RANGE.match((header or "").strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def _disposition(resource: Resource) -> str:
    kind = "inline" if resource.content_type.startswith(INLINE_PREFIXES) else "attachment"
    name = resource.original_name or "resource"
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "") or "resource"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _headers(response: HttpResponse, resource: Resource) -> HttpResponse:
    response["Content-Type"] = resource.content_type
    response["Content-Disposition"] = _disposition(resource)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    # Even if a browser were to render it, nothing in it runs.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; media-src 'self'"
    return response


def file_response(request: HttpRequest, resource: Resource) -> HttpResponse:
    size = resource.size
    wanted = byte_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    handle = default_storage.open(resource.stored_name, "rb")
    if wanted is None:
        response = FileResponse(handle, content_type=resource.content_type)
        response["Content-Length"] = str(size)
        return _headers(response, resource)
    start, end = wanted
    length = end - start + 1
    response = StreamingHttpResponse(
        _chunks(handle, start, length), status=206, content_type=resource.content_type
    )
    response["Content-Length"] = str(length)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _headers(response, resource)
