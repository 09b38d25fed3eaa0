"""Every main page renders for the role it is meant for."""

from builders import dossier_in

from dossiers.models import DossierKind, DossierState


def test_officer_pages_render(app, login):
    with app.app_context():
        tp = dossier_in(DossierState.MEASURES_DECIDED).reference
        vip = dossier_in(DossierState.ASSESSMENT, DossierKind.VIP_PROTECTION).reference
    officer = login("officer")
    for url in [
        "/dashboard/",
        "/dossiers/",
        "/dossiers/new",
        f"/dossiers/{tp}",
        f"/dossiers/{vip}",
        f"/dossiers/{tp}/persons?q=Pee",
        f"/dossiers/{tp}/assessments/new",
        f"/dossiers/{vip}/event",
        f"/dossiers/{vip}/approval",
        f"/dossiers/{tp}/measures/new",
        "/statistics/",
    ]:
        response = officer.get(url)
        assert response.status_code == 200, url


def test_partner_analyst_admin_pages_render(app, login):
    with app.app_context():
        dossier_in(DossierState.MEASURES_DECIDED)
    assert login("partner").get("/measures/").status_code == 200
    assert login("analyst").get("/statistics/").status_code == 200
    admin = login("admin")
    for url in [
        "/admin/users",
        "/admin/users/new",
        "/admin/organisations",
        "/admin/organisations/new",
    ]:
        assert admin.get(url).status_code == 200, url
