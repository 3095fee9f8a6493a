"""Uploaded files kept on the server under a random id: the browser holds the id, never a path.

An upload lives at ``<cache_dir>/uploads/<id>/<safe name>`` beside ``.upload.json`` (original name, size, created
time). :func:`resolve` turns an id back into that file and refuses anything else: an id that is not exactly the
shape :func:`save` makes, an id with no record, an expired one. Nothing the client sends is ever used as a path.
Uploads are deleted after a successful import (:func:`delete`) and swept when older than ``SALES_UPLOAD_TTL_HOURS``
(:func:`sweep`, run on every new upload).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import config

ID_BYTES = 24                                   # secrets.token_urlsafe(24): 32 characters, 192 random bits
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
RECORD = ".upload.json"                         # safe names never start with a dot, so never collide with it


class UploadError(ValueError):
    """An upload the server will not use; the message says what to do."""


@dataclass(frozen=True)
class Upload:
    id: str
    name: str           # the name the user's file had (shown and used as the dataset name)
    path: Path          # the server's copy
    size: int
    created: float      # seconds since the epoch


def folder() -> Path:
    return config.load().cache_dir / "uploads"


def safe_name(filename: str | None) -> str:
    """The file's base name reduced to ``[A-Za-z0-9._-]`` (suffixes such as ``.csv.gz`` kept), never hidden."""
    base = re.split(r"[\\/]", filename or "")[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", base)[-100:].lstrip(".")
    return safe or "upload.csv"


def decode_data_url(contents: str, filename: str, max_bytes: int) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL; one over ``max_bytes`` is refused from its length, before decoding."""
    if not isinstance(contents, str) or "," not in contents:
        raise UploadError(f"{filename}: the upload could not be decoded (not a data URL)")
    payload = contents.split(",", 1)[1]
    if len(payload) // 4 * 3 > max_bytes + 3:
        raise UploadError(f"{filename}: the file is over the upload limit of {max_bytes // (1024 * 1024)} MB "
                          "(raise it with SALES_MAX_UPLOAD_MB)")
    try:
        return base64.b64decode(payload)
    except (ValueError, binascii.Error) as exc:
        raise UploadError(f"{filename}: the upload could not be decoded ({exc})") from None


def save(raw: bytes, filename: str | None, now: float | None = None) -> Upload:
    """Keep ``raw`` under a new random id (after sweeping expired uploads) and return its record."""
    settings = config.load()
    now = time.time() if now is None else now
    sweep(now, settings.upload_ttl_hours)
    uid = secrets.token_urlsafe(ID_BYTES)
    home = folder() / uid
    home.mkdir(parents=True, mode=0o700)
    name = safe_name(filename)
    (home / name).write_bytes(raw)
    record = {"name": str(filename or name)[:200], "file": name, "size": len(raw), "created": now}
    (home / RECORD).write_text(json.dumps(record), encoding="utf-8")
    return Upload(uid, record["name"], home / name, len(raw), now)


def save_data_url(contents: str, filename: str | None) -> Upload:
    """Decode a ``dcc.Upload`` data URL (within ``SALES_MAX_UPLOAD_MB``) and keep it; see :func:`save`."""
    shown = filename or "upload"
    return save(decode_data_url(contents, shown, config.load().max_upload_bytes), filename)


def _record(home: Path) -> dict | None:
    try:
        record = json.loads((home / RECORD).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) and isinstance(record.get("created"), (int, float)) else None
    except (OSError, ValueError):
        return None


def resolve(upload_id, now: float | None = None) -> Upload:
    """The upload saved under ``upload_id``; :class:`UploadError` for a malformed, unknown or expired id."""
    if not isinstance(upload_id, str) or not ID_PATTERN.fullmatch(upload_id):
        raise UploadError("this upload reference is not valid: upload the file again")
    home = folder() / upload_id
    record = _record(home)
    if record is None or record.get("file") != safe_name(record.get("file")) or not (home / record["file"]).is_file():
        raise UploadError("this upload is unknown (already imported or removed): upload the file again")
    now = time.time() if now is None else now
    if now - record["created"] > config.load().upload_ttl_hours * 3600:
        delete(upload_id)
        raise UploadError("this upload has expired (SALES_UPLOAD_TTL_HOURS): upload the file again")
    return Upload(upload_id, str(record.get("name") or record["file"]), home / record["file"],
                  int(record.get("size") or 0), float(record["created"]))


def delete(upload_id) -> bool:
    """Remove an upload's folder; False when ``upload_id`` is malformed or unknown."""
    if not isinstance(upload_id, str) or not ID_PATTERN.fullmatch(upload_id):
        return False
    home = folder() / upload_id
    if not home.is_dir():
        return False
    shutil.rmtree(home, ignore_errors=True)
    return True


def sweep(now: float | None = None, ttl_hours: int | None = None) -> int:
    """Delete uploads older than ``ttl_hours`` (default ``SALES_UPLOAD_TTL_HOURS``); returns how many went.

    A folder without a readable record is aged by its modification time; loose files left by older versions
    (which saved ``<hash>-<name>`` straight into the folder) are aged the same way.
    """
    root = folder()
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    cutoff = now - (config.load().upload_ttl_hours if ttl_hours is None else ttl_hours) * 3600
    removed = 0
    for entry in root.iterdir():
        try:
            if entry.is_dir() and ID_PATTERN.fullmatch(entry.name):
                record = _record(entry)
                created = record["created"] if record else entry.stat().st_mtime
                if created < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
            elif entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:  # removed meanwhile by another worker's sweep
            continue
    return removed


def shown(message: str, upload: Upload) -> str:
    """``message`` with the server path of ``upload`` replaced by the name the user knows the file by."""
    return message.replace(str(upload.path), upload.name)
