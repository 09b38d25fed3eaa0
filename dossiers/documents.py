"""Documents attached to a dossier: the OCAM note, office documents, images.

Where the bytes live is one small interface (`Store`). Today's store is the database
(`DatabaseStore`): every application server shares it without another service to run,
a backup of the database holds each document with its dossier, and a document and its
record are written in one transaction, so that neither exists without the other. At
the centre's volumes (a few hundred dossiers a year, documents of at most 20 MB) that
is well within what PostgreSQL keeps comfortably; an object store would implement the
same two methods.

A document's type is judged from its first bytes, never from its name or the type the
browser claims: only the types below are taken, and a download is always an
attachment of the type found, with nosniff, so that no browser renders it in the app's
origin. Officers only: loaded through a dossier they may see (access.load_dossier).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import IO, Protocol

import filetype
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, select
from sqlalchemy.orm import joinedload

from . import audit
from .casework import PURGED, lock_rows, require_not_purged, require_open
from .clock import now_utc
from .corrections import why_withdrawn
from .extensions import db
from .models import Document, DocumentContent, Dossier, User
from .refusals import Refused

MAX_BYTES = 20 * 1024 * 1024

# What may be attached, by the type its content shows: the media type it is served as,
# with the kind shown and the extension its download gets (never the sender's).
ACCEPTED = {
    "application/pdf": ("PDF", "pdf"),
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/gif": ("GIF", "gif"),
    "image/tiff": ("TIFF", "tif"),
    "image/webp": ("WebP", "webp"),
    "image/heic": ("HEIC", "heic"),
    "application/msword": ("Word", "doc"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("Word", "docx"),
    "application/vnd.ms-excel": ("Excel", "xls"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("Excel", "xlsx"),
    "application/vnd.ms-powerpoint": ("PowerPoint", "ppt"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "PowerPoint",
        "pptx",
    ),
    "application/vnd.oasis.opendocument.text": ("OpenDocument", "odt"),
    "application/vnd.oasis.opendocument.spreadsheet": ("OpenDocument", "ods"),
    "application/vnd.oasis.opendocument.presentation": ("OpenDocument", "odp"),
}


class Store(Protocol):
    def put(self, document: Document, content: bytes) -> None: ...

    def get(self, document: Document) -> bytes: ...

    def remove(self, document_ids: list[int]) -> None: ...


class DatabaseStore:
    """The bytes in their own table, read only for a download."""

    def put(self, document: Document, content: bytes) -> None:
        db.session.add(DocumentContent(document_id=document.id, data=content))

    def get(self, document: Document) -> bytes:
        return db.session.scalars(
            select(DocumentContent.data).where(DocumentContent.document_id == document.id)
        ).one()

    def remove(self, document_ids: list[int]) -> None:
        db.session.execute(
            delete(DocumentContent).where(DocumentContent.document_id.in_(document_ids))
        )


store: Store = DatabaseStore()


def read_limited(stream: IO[bytes]) -> bytes:
    """The upload's bytes, refused past the limit without reading further."""
    content = stream.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise Refused(_l("A document is at most 20 MB."), "file")
    return content


def media_type_of(content: bytes) -> str:
    found = filetype.guess_mime(content[:8192]) if content else None
    if found not in ACCEPTED:
        raise Refused(
            _l(
                "This file is not a document the dossier takes: PDF, an office document "
                "(Word, Excel, PowerPoint, OpenDocument) or an image."
            ),
            "file",
        )
    return found


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(name: str | None) -> str:
    """The file's name as its sender wrote it, in any script, without a path, control
    characters or the bidirectional overrides that disguise an extension."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = CONTROL.sub("", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = text.strip().strip(".").strip()
    return text[:200] or str(_l("document"))


def attach(dossier: Dossier, *, name: str | None, content: bytes, actor: User) -> Document:
    require_open(dossier)
    if not content:
        raise Refused(_l("The file is empty."), "file")
    if len(content) > MAX_BYTES:
        raise Refused(_l("A document is at most 20 MB."), "file")
    document = Document(
        dossier_id=dossier.id,
        name=clean_name(name),
        media_type=media_type_of(content),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by_id=actor.id,
    )
    db.session.add(document)
    db.session.flush()
    store.put(document, content)
    # The name stays out of the audit trail (it may name someone); the event names the
    # document by id, type and size.
    audit.record(
        "document.add",
        actor=actor,
        object_type="document",
        object_id=document.id,
        dossier=dossier,
        media_type=document.media_type,
        size=document.size,
    )
    return document


def withdraw(document: Document, reason: str, actor: User) -> None:
    """Withdraw a document attached by mistake (the wrong file, the wrong dossier): its
    bytes, name and hash are deleted, also from a closed dossier, not under legal hold;
    the dossier keeps a line saying that a document of this type and size was withdrawn,
    by whom, when and why (the reason is the dossier's, never the audit trail's)."""
    dossier = document.dossier
    require_not_purged(dossier)
    reason = why_withdrawn(reason)
    # As a note (casework.add_note): on a closed dossier a retention run may be purging,
    # the locked row makes one wait for the other, and a purged dossier has no document;
    # two officers withdrawing it at once, one after the other.
    if not lock_rows(Dossier, and_(Dossier.id == dossier.id, Dossier.purged_at.is_(None))):
        raise Refused(PURGED)
    db.session.refresh(document)
    db.session.refresh(dossier)
    if document.withdrawn_at is not None:
        raise Refused(_l("This document is already withdrawn."))
    if dossier.legal_hold_at is not None:  # a hold keeps what the dossier holds
        raise Refused(_l("This dossier is under legal hold: lift the hold first."))
    document.withdrawal_reason = reason
    document.withdrawn_at = now_utc()
    document.withdrawn_by_id = actor.id
    # The name may name someone, and the hash would confirm a file someone holds.
    document.name = document.sha256 = ""
    store.remove([document.id])
    audit.record(
        "document.withdraw",
        actor=actor,
        object_type="document",
        object_id=document.id,
        dossier=dossier,
        media_type=document.media_type,
        size=document.size,
    )


def download(document: Document, actor: User) -> bytes:
    """The document's bytes; the read is recorded in the audit trail first."""
    audit.record(
        "document.download",
        actor=actor,
        object_type="document",
        object_id=document.id,
        dossier=document.dossier,
    )
    return store.get(document)


def of_dossier(dossier: Dossier) -> list[Document]:
    return list(
        db.session.scalars(
            select(Document)
            .options(joinedload(Document.uploaded_by), joinedload(Document.withdrawn_by))
            .where(Document.dossier_id == dossier.id)
            .order_by(Document.uploaded_at.desc(), Document.id.desc())
        )
    )


def remove_of_dossiers(dossier_ids: list[int]) -> int:
    """Delete the documents of these dossiers, their bytes and their records (a retention
    run); how many there were."""
    found = list(
        db.session.scalars(select(Document.id).where(Document.dossier_id.in_(dossier_ids)))
    )
    if found:
        store.remove(found)
        db.session.execute(delete(Document).where(Document.id.in_(found)))
    return len(found)


def kind_of(document: Document) -> str:
    return ACCEPTED[document.media_type][0] if document.media_type in ACCEPTED else "?"


def download_name(document: Document) -> tuple[str, str]:
    """The name a download is saved under: the sender's name without its extension, and
    the extension of the type the content is."""
    stem = document.name.rsplit(".", 1)[0] if "." in document.name else document.name
    extension = ACCEPTED[document.media_type][1] if document.media_type in ACCEPTED else "bin"
    return stem or "document", extension
