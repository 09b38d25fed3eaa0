"""Administration: user accounts and partner organisations. No dossier contents."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import accounts
from ..accounts import AccountRefused
from ..extensions import db
from ..forms import OrganisationForm, UserForm
from ..models import Organisation, OrganisationKind, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
def users():
    """List the user accounts."""
    page = db.paginate(select(User).order_by(User.email), per_page=50)
    organisations = {o.id: o.name for o in db.session.scalars(select(Organisation))}
    return render_template("admin/users.html", page=page, organisations=organisations)


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=user)
    form.organisation_id.choices = [("", _("None"))] + [
        (str(o.id), o.name)
        for o in db.session.scalars(select(Organisation).order_by(Organisation.name))
    ]
    return form


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user account."""
    form = _user_form(None)
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("Give a first password."))
        else:
            try:
                accounts.create_user(
                    email=form.email.data or "",
                    full_name=form.full_name.data or "",
                    role=Role(form.role.data),
                    password=form.password.data,
                    organisation_id=form.organisation_id.data,
                    actor=current_user,
                )
            except AccountRefused as refusal:
                db.session.rollback()
                form.email.errors.append(str(refusal))
            else:
                db.session.commit()
                flash(_("User created."), "success")
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Change a user's role, organisation, password or activity."""
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            accounts.update_user(
                user,
                email=form.email.data or "",
                full_name=form.full_name.data or "",
                role=Role(form.role.data),
                organisation_id=form.organisation_id.data,
                active=form.active.data,
                password=form.password.data or None,
                actor=current_user,
            )
        except AccountRefused as refusal:
            db.session.rollback()
            form.email.errors.append(str(refusal))
        else:
            db.session.commit()
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.get("/organisations")
def organisations():
    """List the organisations."""
    rows = db.session.scalars(select(Organisation).order_by(Organisation.name))
    return render_template("admin/organisations.html", organisations=rows)


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation():
    """Create an organisation."""
    return _organisation_form(None)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def edit_organisation(organisation_id: int):
    """Rename, re-kind or deactivate an organisation."""
    return _organisation_form(db.get_or_404(Organisation, organisation_id))


def _organisation_form(organisation: Organisation | None):
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        try:
            accounts.save_organisation(
                organisation,
                name=form.name.data or "",
                kind=OrganisationKind(form.kind.data),
                active=form.active.data,
                actor=current_user,
            )
        except AccountRefused as refusal:
            db.session.rollback()
            form.name.errors.append(str(refusal))
        else:
            db.session.commit()
            flash(_("Organisation saved."), "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, organisation=organisation)
