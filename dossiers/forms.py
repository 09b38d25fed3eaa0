"""WTForms forms: they check the shape of input; the domain checks the rules."""

from __future__ import annotations

import functools

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.core import UnboundField
from wtforms.i18n import messages_path
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from .access import REFERENCE
from .clock import day
from .inputs import FIRST_DAY, LAST_DAY, identifier, shows_nothing, within_days
from .labels import LEVELS, choices, options
from .models import (
    AssessmentSource,
    DossierKind,
    DossierState,
    EventKind,
    MeasureMessageKind,
    OrganisationKind,
    Role,
    ThreatGround,
    VipCategory,
)

REQUIRED = _l("This field is required.")


def optional_int(value: object) -> object:
    """Coerce a select's value to an id; anything else stays as it is and fails the
    choice check with a plain message."""
    if value in (None, "", "None"):
        return None
    found = identifier(value)
    return value if found is None else found


class YearField(IntegerField):
    """A year of four digits; longer numbers would overflow the range check."""

    def process_formdata(self, valuelist: list) -> None:
        raw = str(valuelist[0]).strip() if valuelist else ""
        if not raw:
            self.data = None  # no year: the filter without one
            return
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
            self.data = None
            raise ValueError(_l("Give a year of four digits."))
        super().process_formdata(valuelist)

    def pre_validate(self, form) -> None:  # type: ignore[no-untyped-def]
        if self.process_errors:  # one message for one mistake: not the range's as well
            raise StopValidation()


class DayField(DateField):
    """A date in the range every form accepts (inputs.FIRST_DAY to LAST_DAY)."""

    def pre_validate(self, form) -> None:  # type: ignore[no-untyped-def]
        if self.data is not None and not within_days(self.data):
            raise StopValidation(
                _l(
                    "Give a date between %(first)s and %(last)s.",
                    first=day(FIRST_DAY),
                    last=day(LAST_DAY),
                )
            )


@functools.cache
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _empty_if_nothing_shows(value: object) -> object:
    return "" if isinstance(value, str) and value and shows_nothing(value) else value


class Form(FlaskForm):
    """A FlaskForm whose WTForms messages come from a catalogue read once per language
    and process; Flask-WTF reads it from disk again on every request. Every text field
    takes a text that shows nothing (only invisible marks) as no text: a required one
    refuses it, as it refuses spaces."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):  # type: ignore[no-untyped-def]
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                args, kwargs = list(unbound_field.args), dict(unbound_field.kwargs)
                if len(args) > 2:  # (label, validators, filters, ...) given in order
                    args[2] = (_empty_if_nothing_shows, *args[2])
                else:
                    kwargs["filters"] = (_empty_if_nothing_shows, *kwargs.get("filters", ()))
                unbound_field = UnboundField(field_class, *args, **kwargs)
            return super().bind_field(form, unbound_field, options)

        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(str(get_locale()))


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=256)])


class TotpForm(Form):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(REQUIRED), Length(min=6, max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class EnrolmentCodeForm(Form):
    code = StringField(
        _l("Enrolment code"),
        validators=[DataRequired(REQUIRED), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters"},
    )


class ChosenPasswordForm(Form):
    """A password chosen through a mailed link: the link stands for the current one."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirmation = PasswordField(
        _l("New password again"),
        validators=[DataRequired(REQUIRED), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(ChosenPasswordForm):
    # The rules for a new password are the domain's (accounts.change_password).
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(REQUIRED), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class ForgottenPasswordForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


class DossierFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Reference or person"), validators=[Optional(), Length(max=100)])
    kind = SelectField(
        _l("Kind"),
        choices=options([("", _l("All kinds"))]) + choices(DossierKind),
        validators=[Optional()],
    )
    state = SelectField(
        _l("State"),
        choices=options([("", _l("All states"))]) + choices(DossierState),
        validators=[Optional()],
    )
    year = YearField(_l("Year opened"), validators=[Optional(), NumberRange(1990, 2100)])
    level = SelectField(
        _l("Level"),
        coerce=optional_int,
        choices=options([("", _l("All levels")), *LEVELS.items()]),
        validators=[Optional()],
    )
    mine = BooleanField(_l("Only the dossiers I lead"))
    review_due = BooleanField(_l("Only those whose review is due"))


class OpenOnForm(Form):
    class Meta:
        csrf = False  # a GET form that changes nothing

    on = DayField(_l("Open on"), validators=[Optional()])


class DossierForm(Form):
    kind = SelectField(
        _l("Kind"), choices=choices(DossierKind), validators=[InputRequired(REQUIRED)]
    )
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    opened_on = DayField(_l("Opened on"), validators=[InputRequired(REQUIRED)])
    ground = SelectField(
        _l("Ground of the threat"),
        choices=options([("", _l("— (VIP protection)"))]) + choices(ThreatGround),
    )

    def validate_ground(self, field: SelectField) -> None:
        if self.kind.data == DossierKind.THREATENED_PERSON.value and not field.data:
            raise ValidationError(_l("Give the ground of the threat for a threatened person."))


class PersonForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=160)])
    # Required, except for a family member (casework.check_person).
    function = StringField(_l("Function"), validators=[Optional(), Length(max=120)])
    date_of_birth = DayField(_l("Date of birth (optional)"), validators=[Optional()])
    family_of_id = SelectField(
        _l("Family member of (optional)"), coerce=optional_int, validators=[Optional()]
    )
    relation = StringField(_l("Relation (spouse, son, …)"), validators=[Optional(), Length(max=60)])
    category = SelectField(
        _l("VIP category"),
        choices=options([("", _l("— (not a VIP)"))]) + choices(VipCategory),
        validators=[Optional()],
    )
    country = StringField(_l("Country"), validators=[Optional(), Length(max=80)])


class PersonEditForm(PersonForm):
    version = HiddenField()
    seen = HiddenField()


class PersonSearchForm(Form):
    class Meta:
        csrf = False

    q = StringField(_l("Find a person already known"), validators=[Optional(), Length(max=100)])


class LinkPersonForm(Form):
    person_id = HiddenField(validators=[DataRequired(REQUIRED)])


class VersionedForm(Form):
    """A form that changes a dossier or measure: it carries what it was rendered from."""

    version = HiddenField()
    seen = HiddenField()


class ReasonForm(VersionedForm):
    """The form of every workflow transition and of simple confirmations."""

    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class AssessmentForm(Form):
    source = SelectField(
        _l("Source"), choices=choices(AssessmentSource), validators=[InputRequired(REQUIRED)]
    )
    level = SelectField(
        _l("Threat level"),
        coerce=optional_int,
        choices=options([("", _l("Choose a level")), *LEVELS.items()]),
        validators=[InputRequired(REQUIRED)],
    )
    person_id = SelectField(
        _l("For one person (optional)"), coerce=optional_int, validators=[Optional()]
    )
    assessed_on = DayField(_l("Assessment date"), validators=[InputRequired(REQUIRED)])
    review_on = DayField(_l("Review date"), validators=[Optional()])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(REQUIRED), Length(max=10000)])


class AssessmentEditForm(VersionedForm, AssessmentForm):
    """A correction of an assessment, carrying the version it was rendered from."""


class HandOverForm(VersionedForm):
    officer_id = SelectField(
        _l("New lead officer"), coerce=optional_int, validators=[InputRequired(REQUIRED)]
    )


class NoteForm(Form):
    body = TextAreaField(
        _l("Internal note"), validators=[DataRequired(REQUIRED), Length(max=10000)]
    )


class DocumentForm(Form):
    file = FileField(_l("Document"), validators=[FileRequired(_l("Choose a file."))])


class WithdrawalForm(VersionedForm):
    """Withdrawing a wrong entry: it stays, shown as withdrawn, with this reason."""

    reason = TextAreaField(
        _l("Why is it withdrawn?"), validators=[DataRequired(REQUIRED), Length(max=2000)]
    )


class EventChoiceForm(VersionedForm):
    event_id = SelectField(
        _l("Existing event"), coerce=optional_int, validators=[InputRequired(REQUIRED)]
    )


class EventPlanForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(
        _l("Kind of event"), choices=choices(EventKind), validators=[InputRequired(REQUIRED)]
    )
    start_date = DayField(_l("Starts on"), validators=[InputRequired(REQUIRED)])
    end_date = DayField(_l("Ends on"), validators=[InputRequired(REQUIRED)])
    place = StringField(_l("Place"), validators=[DataRequired(REQUIRED), Length(max=120)])
    host = StringField(_l("Host"), validators=[Optional(), Length(max=120)])

    def validate_end_date(self, field: DateField) -> None:
        if self.start_date.data and field.data and field.data < self.start_date.data:
            raise ValidationError(_l("The event cannot end before it starts."))


class EventForm(VersionedForm, EventPlanForm):
    """An event created from a VIP dossier's page, which carries the dossier's version."""


class EventFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    kind = SelectField(
        _l("Kind"),
        choices=options([("", _l("All kinds"))]) + choices(EventKind),
        validators=[Optional()],
    )
    year = YearField(_l("Year"), validators=[Optional(), NumberRange(1990, 2100)])


class EventApprovalForm(Form):
    approval_date = DayField(_l("Approved on"), validators=[InputRequired(REQUIRED)])
    approval_reference = StringField(
        _l("Approval reference"), validators=[DataRequired(REQUIRED), Length(max=80)]
    )


class ApprovalForm(VersionedForm, EventApprovalForm):
    """One dossier's approval, carrying the dossier's version."""


class StandardMeasureForm(Form):
    category = SelectField(
        _l("VIP category"), choices=choices(VipCategory), validators=[InputRequired(REQUIRED)]
    )
    measure_type_id = SelectField(
        _l("Type of measure"), coerce=optional_int, validators=[InputRequired(REQUIRED)]
    )
    organisation_id = SelectField(
        _l("Carried out by"), coerce=optional_int, validators=[InputRequired(REQUIRED)]
    )


class DelegationForm(Form):
    title = StringField(_l("Delegation"), validators=[DataRequired(REQUIRED), Length(max=200)])
    listing = TextAreaField(_l("The list"), validators=[Optional(), Length(max=300_000)])
    upload = FileField(_l("Or a file (CSV or XLSX)"))


class AcknowledgeForm(Form):
    """A partner acknowledges several measures at once; the chosen measures and the
    versions its page showed come as `measure` and `version-<id>` fields."""


class DelegationsStepForm(Form):
    """One workflow step for several delegations of an event; the chosen dossiers and
    the versions the page showed come as `dossier` and `version-<id>` fields."""

    name = SelectField(_l("Step"), validators=[InputRequired(REQUIRED)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class MeasureForm(Form):
    measure_type_id = SelectField(
        _l("Type of measure"), coerce=optional_int, validators=[InputRequired(REQUIRED)]
    )
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(REQUIRED), Length(max=5000)]
    )
    organisation_id = SelectField(
        _l("Carried out by"), coerce=optional_int, validators=[InputRequired(REQUIRED)]
    )
    person_id = SelectField(
        _l("For one person (optional)"), coerce=optional_int, validators=[Optional()]
    )
    start_date = DayField(_l("Start date"), validators=[InputRequired(REQUIRED)])
    end_date = DayField(_l("End date (empty while in force)"), validators=[Optional()])


class MeasureEditForm(VersionedForm, MeasureForm):
    """A correction of a measure, carrying the version it was rendered from."""


class MeasureReportForm(VersionedForm):
    # The choices are the next steps from the measure's status (measures.PARTNER_STEPS).
    status = SelectField(_l("Status"), validators=[InputRequired(REQUIRED)])
    note = TextAreaField(_l("Execution note"), validators=[Optional(), Length(max=5000)])


class MeasureMessageForm(Form):
    """A partner declines a measure or asks about it: `kind` comes from the button
    pressed; the reason's rules are the domain's (partner_messages.check_reason)."""

    kind = SelectField(choices=choices(MeasureMessageKind), validators=[InputRequired(REQUIRED)])
    reason = TextAreaField(
        _l("Reason or question"),
        description=_l(
            "Why your service cannot carry out this measure, or what it needs to know. The "
            "crisis centre's officers read it."
        ),
        render_kw={"maxlength": 2000, "rows": 4},
    )


class UserForm(Form):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(REQUIRED),
            Email(_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(REQUIRED), Length(max=120)])
    role = SelectField(_l("Role"), choices=choices(Role), validators=[InputRequired(REQUIRED)])
    organisation_id = SelectField(_l("Organisation"), coerce=optional_int)
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=12, max=256, message=_l("Use at least 12 characters."))],
    )
    active = BooleanField(_l("Active"), default=True)

    def validate_organisation_id(self, field: SelectField) -> None:
        if self.role.data == Role.PARTNER.value and not field.data:
            raise ValidationError(_l("A police partner belongs to an organisation."))


def _trimmed(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _as_reference(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class AccessReportForm(Form):
    """Whose access report: a dossier by its reference, or a person by their number."""

    class Meta:
        csrf = False  # a GET form: the report changes nothing (it is audited as a read)

    reference = StringField(_l("Dossier"), filters=[_as_reference])
    person = StringField(_l("Person number"), filters=[_trimmed])

    def validate_reference(self, field: StringField) -> None:
        if field.data and not REFERENCE.fullmatch(field.data):
            raise ValidationError(_l("A dossier reference looks like TP-2024-0001."))

    def validate_person(self, field: StringField) -> None:
        if field.data and not (field.data.isascii() and field.data.isdigit()):
            raise ValidationError(_l("A person's number is digits only, such as 123."))
        if field.data and self.reference.data:
            raise ValidationError(_l("Give a dossier or a person, not both."))

    @property
    def asked(self) -> bool:
        return bool(self.reference.data or self.person.data)


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    actor_id = SelectField(_l("User"), coerce=optional_int, validators=[Optional()])
    reference = StringField(_l("Dossier"), validators=[Optional(), Length(max=20)])
    action = SelectField(_l("Action"), validators=[Optional()])
    outcome = SelectField(
        _l("Outcome"),
        choices=options([("", _l("Any")), ("ok", _l("Done")), ("refused", _l("Refused"))]),
        validators=[Optional()],
    )
    since = DayField(_l("From"), validators=[Optional()])
    until = DayField(_l("Until"), validators=[Optional()])


class OrganisationForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=120)])
    kind = SelectField(
        _l("Kind"), choices=choices(OrganisationKind), validators=[InputRequired(REQUIRED)]
    )
    mailbox = EmailField(
        _l("Functional mailbox"),
        description=_l("The service's shared address for notifications, not a person's."),
        validators=[Optional(), Email(_l("Enter a valid email address.")), Length(max=254)],
    )
    language = SelectField(
        _l("Language of its mails"),
        choices=options([("nl", "Nederlands"), ("fr", "Français")]),
        default="nl",
        validators=[Optional()],
    )
    active = BooleanField(_l("Active"), default=True)


class MeasureTypeForm(Form):
    label_nl = StringField(
        _l("Name in Dutch"), validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    label_fr = StringField(
        _l("Name in French"), validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    label = StringField(_l("Name in English"), validators=[DataRequired(REQUIRED), Length(max=120)])
    active = BooleanField(
        _l("Offered for new measures"),
        default=True,
        description=_l("A retired type stays on the measures that have it."),
    )


class LanguageForm(Form):
    language = StringField(validators=[DataRequired(REQUIRED), AnyOf(("nl", "fr", "en"))])
