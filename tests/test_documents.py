"""Documents attached to a dossier, and the printed dossier: officers only, the type
judged from the content, every download and print audited."""

from __future__ import annotations

import datetime as dt
import gc
import io
import shutil
import subprocess
import warnings

import pytest
from builders import dossier_in
from PIL import Image
from sqlalchemy import select, update

from dossiers.extensions import db
from dossiers.models import AuditEvent, Document, DocumentContent, DossierState

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def upload(session, reference, content: bytes, name: str, **kwargs):
    return session.post(
        f"/dossiers/{reference}/documents/new",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        **kwargs,
    )


@pytest.fixture
def reference(app):
    with app.app_context():
        return dossier_in(DossierState.ASSESSMENT).reference


def stored(app) -> list[Document]:
    with app.app_context():
        return list(db.session.scalars(select(Document)))


def test_an_officer_attaches_a_pdf_named_in_any_script_and_downloads_it(app, login, reference):
    session = login("officer")
    name = "Note OCAM — Chloé 日本 مذكرة.pdf"
    response = upload(session, reference, PDF, name, follow_redirects=True)
    assert "Document attached." in response.text
    assert name in response.text
    [document] = stored(app)
    assert (document.media_type, document.size) == ("application/pdf", len(PDF))
    download = session.get(f"/dossiers/{reference}/documents/{document.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''Note%20OCAM%20%E2%80%94%20Chlo%C3%A9"
        in download.headers["Content-Disposition"]
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["Cache-Control"] == "no-store"
    with app.app_context():
        actions = [
            e.action
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.dossier_id.is_not(None))
            )
        ]
        assert "document.add" in actions and "document.download" in actions
        added = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.add")
        ).one()
        assert "Chlo" not in added.detail  # the name may name someone: not in the trail
    page = session.get(f"/dossiers/{reference}").text
    timeline = page[page.index('class="timeline') :]
    assert "Document attached" in timeline and "Document downloaded" not in timeline


def test_the_type_comes_from_the_content_not_the_name(app, login, reference):
    session = login("officer")
    disguised = upload(session, reference, b"<html><script>alert(1)</script></html>", "note.pdf")
    assert "not a document the dossier takes" in disguised.text
    assert 'id="file-error"' in disguised.text
    empty = upload(session, reference, b"", "empty.pdf")
    assert "is-invalid" in empty.text
    assert stored(app) == []
    # A picture sent under a web page's name is kept, and served, as the picture it is.
    upload(session, reference, png(), "photo.html")
    [document] = stored(app)
    assert document.media_type == "image/png"
    download = session.get(f"/dossiers/{reference}/documents/{document.id}")
    assert download.headers["Content-Type"] == "image/png"
    assert 'filename="photo.png"' in download.headers["Content-Disposition"]


def test_a_name_cannot_hide_its_extension_or_carry_a_path(app, login, reference):
    session = login("officer")
    upload(session, reference, PDF, "..\\..\\etc/report\u202efdp.exe")
    [document] = stored(app)
    assert document.name == "report" + "fdp.exe"
    assert "\u202e" not in document.name and "/" not in document.name


def test_a_document_over_20_mb_is_refused_with_a_clear_message(app, login, reference):
    session = login("officer")
    too_big = PDF + b"0" * (20 * 1024 * 1024)
    with warnings.catch_warnings():
        # The test client spools the body it encodes to a file it never closes (the app
        # closes its own): let it go here, not in whichever test runs next.
        warnings.simplefilter("ignore", ResourceWarning)
        response = upload(session, reference, too_big, "big.pdf")
        status, text = response.status_code, response.text
        del response
        gc.collect()
    assert status in (200, 413)
    assert "20 MB" in text
    assert stored(app) == []
    with app.app_context():
        assert db.session.scalars(select(DocumentContent)).all() == []


@pytest.mark.parametrize("who", ["partner", "analyst", "admin"])
def test_nobody_but_officers_reaches_a_document_or_a_print(app, login, reference, who):
    officer = login("officer")
    upload(officer, reference, PDF, "secret.pdf")
    [document] = stored(app)
    session = login(who)
    for path in (
        f"/dossiers/{reference}/documents/{document.id}",
        f"/dossiers/{reference}/documents/new",
        f"/dossiers/{reference}/documents/{document.id}/withdraw",
        f"/dossiers/{reference}/print",
    ):
        response = session.get(path)
        assert response.status_code == 403, (who, path)
        assert b"%PDF" not in response.data


def test_a_document_of_another_dossier_is_404(app, login, reference):
    with app.app_context():
        other = dossier_in(DossierState.ASSESSMENT).reference
    session = login("officer")
    upload(session, other, PDF, "other.pdf")
    [document] = stored(app)
    assert session.get(f"/dossiers/{reference}/documents/{document.id}").status_code == 404
    assert session.get(f"/dossiers/{reference}/documents/999999").status_code == 404


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
def test_the_printed_dossier_is_marked_restricted_with_who_printed_it_and_audited(
    app, login, reference
):
    session = login("officer")
    session.post(f"/dossiers/{reference}/notes", data={"body": "Called the mayor."})
    response = session.get(f"/dossiers/{reference}/print")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert "RESTRICTED" in text and reference in text
    assert "printed on" in text and "by Officer" in text
    assert "Jan Peeters" in text and "Called the mayor." in text
    with app.app_context():
        assert db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "dossier.print")
        ).one()
    session.post("/language", data={"language": "nl"})
    dutch = subprocess.run(
        ["pdftotext", "-", "-"],
        input=session.get(f"/dossiers/{reference}/print").data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "BEPERKTE VERSPREIDING" in dutch and "afgedrukt op" in dutch


def test_a_document_attached_by_mistake_is_withdrawn_its_file_and_name_gone(app, login, reference):
    session = login("officer")
    upload(session, reference, PDF, "Piet Janssens psychiatric report.pdf")
    [document] = stored(app)
    url = f"/dossiers/{reference}/documents/{document.id}/withdraw"
    form = session.get(url)
    assert form.status_code == 200 and "Piet Janssens psychiatric report.pdf" in form.text

    refused = session.post(url, data={"reason": " \u200b "})  # shows nothing: no reason
    assert refused.status_code == 200
    assert 'id="reason-error">This field is required.<' in refused.text
    with app.app_context():
        assert len(db.session.scalars(select(DocumentContent)).all()) == 1

    done = session.post(
        url, data={"reason": "Attached to the wrong dossier"}, follow_redirects=True
    )
    assert "Document withdrawn." in done.text
    assert "Piet Janssens" not in done.text
    documents_part = done.text[done.text.index('id="documents-heading"') :]
    assert "A document" in documents_part and "Attached to the wrong dossier" in documents_part
    timeline = done.text[done.text.index('id="timeline-heading"') :]
    assert "Document withdrawn" in timeline
    with app.app_context():
        assert db.session.scalars(select(DocumentContent)).all() == []
        [kept] = db.session.scalars(select(Document)).all()
        assert kept.name == "" and kept.withdrawn_at is not None
        assert kept.withdrawn_by.email == "officer@test.example"
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "document.withdraw")
        ).one()
        assert event.object_id == document.id
        assert "wrong" not in event.detail and "Piet" not in event.detail
    assert session.get(f"/dossiers/{reference}/documents/{document.id}").status_code == 404
    assert session.get(url).status_code == 404  # withdrawn once


def test_a_closed_dossiers_document_can_still_be_withdrawn(app, login):
    from builders import officer

    from dossiers import workflow
    from dossiers.models import Dossier

    with app.app_context():
        reference = dossier_in(DossierState.MEASURES_DECIDED).reference
    session = login("officer")
    upload(session, reference, PDF, "wrong.pdf")
    [document] = stored(app)
    with app.app_context():
        dossier = db.session.scalars(select(Dossier).where(Dossier.reference == reference)).one()
        workflow.transition(dossier, "close", officer(), "Threat gone")
        db.session.commit()
    done = session.post(
        f"/dossiers/{reference}/documents/{document.id}/withdraw",
        data={"reason": "Not this dossier's"},
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(DocumentContent)).all() == []


def test_a_document_under_legal_hold_or_withdrawn_meanwhile_is_refused_and_kept(
    app, login, reference
):
    from builders import officer

    from dossiers import documents, retention
    from dossiers.models import Dossier
    from dossiers.refusals import Refused

    session = login("officer")
    upload(session, reference, PDF, "evidence.pdf")
    [document] = stored(app)
    with app.app_context():
        dossier = db.session.scalars(select(Dossier).where(Dossier.reference == reference)).one()
        retention.place_hold(dossier, "Court case 2026/7", officer())
        db.session.commit()
        dossier_id = dossier.id
    refused = session.post(
        f"/dossiers/{reference}/documents/{document.id}/withdraw",
        data={"reason": "Not needed"},
        follow_redirects=True,
    )
    assert "This dossier is under legal hold: lift the hold first." in refused.text
    assert "evidence.pdf" in refused.text
    with app.app_context():
        assert len(db.session.scalars(select(DocumentContent)).all()) == 1
        dossier = db.session.get(Dossier, dossier_id)
        retention.lift_hold(dossier, "Case closed", officer())
        db.session.commit()

        # Another officer withdrew it after this one's copy was read: refused, their
        # reason kept.
        stale = db.session.get(Document, document.id)
        assert stale.withdrawn_at is None and stale.dossier.purged_at is None  # read now
        session = db.session()
        session.expire_on_commit = False
        try:
            session.commit()  # the copy stays as read
        finally:
            session.expire_on_commit = True
        with db.engine.begin() as other:
            other.execute(
                update(Document)
                .where(Document.id == document.id)
                .values(withdrawn_at=dt.datetime(2026, 1, 1), withdrawal_reason="First reason")
            )
        assert stale.withdrawn_at is None
        with pytest.raises(Refused, match="already withdrawn"):
            documents.withdraw(stale, "Second reason", officer())
        db.session.rollback()
        assert db.session.get(Document, document.id).withdrawal_reason == "First reason"
