"""Administration: user accounts, partner organisations, measure types (the audit trail,
the access report and the mail pages: views/admin_records.py). No dossier contents."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from .. import account_links, accounts
from ..auth import must_enrol
from ..clock import now_utc
from ..extensions import db
from ..forms import (
    Form,
    MeasureTypeForm,
    OrganisationForm,
    ReasonForm,
    UserForm,
)
from ..inputs import identifier
from ..labels import options
from ..models import (
    Measure,
    MeasureType,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from ..reference import add_standard_types, save_measure_type, standard_measure_types
from . import commit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
def users():
    """List the user accounts."""
    organisations = {o.id: o.name for o in accounts.organisations()}
    return render_template(
        "admin/users.html",
        page=accounts.users_page(identifier(request.args.get("page")) or 1),
        organisations=organisations,
    )


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=user)
    form.organisation_id.choices = options(
        [("", _("None"))] + [(o.id, o.name) for o in accounts.organisations()]
    )
    return form


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user account."""
    form = _user_form(None)
    if form.validate_on_submit():
        if not form.password.data:
            if commit(
                lambda: _created_and_invited(form),
                _("User created. An invitation is on its way to %(email)s.", email=form.email.data),
                field=form.email,
                form=form,
            ):
                return redirect(url_for("admin.users"))
        elif created := commit(
            lambda: _created_with_code(form),
            _("User created."),
            field=form.email,
            form=form,
        ):
            user, code = created.value
            if code is None:
                return redirect(url_for("admin.users"))
            return _show_enrolment_code(user, code)
    return render_template("admin/user_form.html", form=form, user=None)


def _new_account(form: UserForm) -> User:
    return accounts.create_user(
        email=form.email.data or "",
        full_name=form.full_name.data or "",
        role=Role(form.role.data),
        password=form.password.data or None,
        organisation_id=form.organisation_id.data,
        actor=current_user,
    )


def _created_and_invited(form: UserForm) -> User:
    """A new account whose user chooses their password through a mailed link (and then
    sets up their second factor, the link standing for the enrolment code)."""
    user = _new_account(form)
    account_links.invite(user, current_user)
    return user


def _created_with_code(form: UserForm) -> tuple[User, str | None]:
    """A new account with a first password, and the enrolment code its role's first
    sign-in will ask for."""
    user = _new_account(form)
    code = accounts.issue_enrolment_code(user, current_user) if must_enrol(user) else None
    return user, code


def _show_enrolment_code(user: User, code: str):
    """The code, this once: only its hash is kept. The page is not cached (no-store)."""
    return render_template("admin/enrolment_code.html", user=user, code=code)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Change a user's role, organisation, password or activity."""
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit() and commit(
        lambda: accounts.update_user(
            user,
            email=form.email.data or "",
            full_name=form.full_name.data or "",
            role=Role(form.role.data),
            organisation_id=form.organisation_id.data,
            active=form.active.data,
            password=form.password.data or None,
            actor=current_user,
        ),
        _("User saved."),
        field=form.email,
        form=form,
    ):
        return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        must_enrol=must_enrol(user),
        invitable=account_links.invitable(user),
        now=now_utc(),
    )


@bp.post("/users/<int:user_id>/reset-two-factor")
def reset_two_factor(user_id: int):
    """Forget a user's authenticator (a lost phone); they set it up again at sign-in."""
    user = db.get_or_404(User, user_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    reset = commit(
        lambda: accounts.reset_second_factor(user, current_user),
        _("Two-factor sign-in reset for %(email)s.", email=user.email),
    )
    if reset and reset.value:
        return _show_enrolment_code(user, reset.value)
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/invite")
def invite_user(user_id: int):
    """Mail the user a new link to choose their password (an invitation not used in
    time, or lost); the earlier link stops working."""
    user = db.get_or_404(User, user_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    commit(
        lambda: account_links.invite(user, current_user),
        _("An invitation is on its way to %(email)s.", email=user.email),
    )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/enrolment-code")
def enrolment_code(user_id: int):
    """Issue a new enrolment code (the last one expired or was lost)."""
    user = db.get_or_404(User, user_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    issued = commit(
        lambda: accounts.issue_enrolment_code(user, current_user),
        _("Enrolment code issued for %(email)s.", email=user.email),
    )
    if issued:
        return _show_enrolment_code(user, issued.value)
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.get("/organisations")
def organisations():
    """List the organisations."""
    return render_template("admin/organisations.html", organisations=accounts.organisations())


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
    if form.validate_on_submit() and commit(
        lambda: accounts.save_organisation(
            organisation,
            name=form.name.data or "",
            kind=OrganisationKind(form.kind.data),
            active=form.active.data,
            actor=current_user,
            mailbox=form.mailbox.data or "",
            language=form.language.data or "nl",
        ),
        _("Organisation saved."),
        field=form.name,
    ):
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, organisation=organisation)


@bp.get("/measure-types")
def measure_types():
    """The measure types, those offered first; a fresh installation starts here."""
    found = db.session.scalars(
        select(MeasureType).order_by(MeasureType.active.desc(), MeasureType.label)
    ).all()
    missing = {t.code for t in standard_measure_types()} - {t.code for t in found}
    return render_template(
        "admin/measure_types.html", measure_types=found, missing=len(missing), form=Form()
    )


@bp.post("/measure-types/standard")
def add_standard_measure_types():
    """Add the standard list's types that are not there yet."""
    if Form().validate_on_submit() and (done := commit(lambda: add_standard_types(current_user))):
        count = len(done.value)
        message = ngettext("%(num)d measure type added.", "%(num)d measure types added.", count)
        flash(message, "success")
    return redirect(url_for("admin.measure_types"))


@bp.route("/measure-types/new", methods=["GET", "POST"])
def new_measure_type():
    return _measure_type_form(None)


@bp.route("/measure-types/<int:type_id>", methods=["GET", "POST"])
def edit_measure_type(type_id: int):
    """Rename a measure type in its three languages, or retire it."""
    return _measure_type_form(db.get_or_404(MeasureType, type_id))


def _measure_type_form(measure_type: MeasureType | None):
    form = MeasureTypeForm(obj=measure_type)
    if form.validate_on_submit() and commit(
        lambda: save_measure_type(
            measure_type,
            label=form.label.data or "",
            label_nl=form.label_nl.data or "",
            label_fr=form.label_fr.data or "",
            active=form.active.data,
            actor=current_user,
        ),
        _("Measure type saved."),
        field=form.label_nl,
        form=form,
    ):
        return redirect(url_for("admin.measure_types"))
    in_use = 0
    if measure_type is not None:
        having_it = Measure.measure_type_id == measure_type.id
        in_use = db.session.scalar(select(func.count()).select_from(Measure).where(having_it)) or 0
    return render_template(
        "admin/measure_type_form.html", form=form, measure_type=measure_type, in_use=in_use
    )


# The audit trail, the access report and the mail pages: the same blueprint.
from . import admin_records  # noqa: E402, F401
