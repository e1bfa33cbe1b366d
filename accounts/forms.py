from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.http import HttpRequest

from accounts import throttling
from accounts.models import User
from accounts.selectors.users import user_by_referral_code, user_cedula_taken
from accounts.services.users import CEDULA_TAKEN_MESSAGE
from accounts.validators import (
    CEDULA_HTML_PATTERN,
    CEDULA_INPUT_MAX_LENGTH,
    NOMBRE_HTML_PATTERN,
    NOMBRE_MAX_LENGTH,
    NOMBRE_MIN_LENGTH,
    REFERRAL_GOAL_MAX,
    REFERRAL_GOAL_MIN,
    TELEFONO_HTML_PATTERN,
    TELEFONO_INPUT_MAX_LENGTH,
    normalize_cedula,
    normalize_nombre,
    normalize_telefono,
    strip_cedula,
)

# Django's own field messages in es/es_CO say "Asegúrese", "Introduzca": the portal says "tú".
TU_FIELD_MESSAGES = {
    "max_length": "Escribe como máximo %(limit_value)d caracteres (escribiste %(show_value)d).",
    "min_length": "Escribe al menos %(limit_value)d caracteres (escribiste %(show_value)d).",
    "invalid": "Revisa este dato: no tiene el formato esperado.",
    "max_value": "Escribe un número menor o igual a %(limit_value)s.",
    "min_value": "Escribe un número mayor o igual a %(limit_value)s.",
}
_TU_INTEGER_INVALID = "Escribe un número entero."
CONFIRM_PASSWORD_HELP = "Escríbela otra vez, igual, para confirmar que no hay errores."


class TuMessagesMixin:
    """Replaces Django's default field messages with the portal's "tú" ones.

    A message a form sets itself (``error_messages=`` on the field) wins.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            explicit = dict(field.error_messages)
            defaults = dict(TU_FIELD_MESSAGES)
            if isinstance(field, forms.IntegerField):
                defaults["invalid"] = _TU_INTEGER_INVALID
            for key, message in defaults.items():
                if key in explicit and explicit[key] != _django_default(field, key):
                    continue
                field.error_messages[key] = message


def _django_default(field: forms.Field, key: str):
    messages = {}
    for cls in reversed(type(field).__mro__):
        messages.update(getattr(cls, "default_error_messages", {}))
    return messages.get(key)


THROTTLED_MESSAGE = "Demasiados intentos fallidos de ingreso. Espera unos minutos e inténtalo de nuevo."
INVALID_LOGIN_MESSAGE = "La cédula o la contraseña no son correctas."


# The attributes below mirror accounts.validators so the browser flags mistakes early;
# site_config/static/js/forms.js filters keystrokes with the same rules (data-filter).
def _cedula_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        label="Cédula",
        max_length=CEDULA_INPUT_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "username",
                "pattern": CEDULA_HTML_PATTERN,
                "title": "Solo números, de 3 a 10 dígitos, sin cero al inicio.",
                "data-filter": "cedula",
                "placeholder": "Ej. 1.234.567",
            }
        ),
        **kwargs,
    )


# The field builders share a shape (a widget with the browser copy of a rule) but no rule.
def _nombre_field() -> forms.CharField:
    return forms.CharField(
        label="Nombre completo",
        # Lengths are checked after trimming and collapsing spaces, in normalize_nombre;
        # the widget still carries minlength/maxlength for the browser.
        strip=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "name",
                "minlength": NOMBRE_MIN_LENGTH,
                "maxlength": NOMBRE_MAX_LENGTH,
                "pattern": NOMBRE_HTML_PATTERN,
                "title": "Solo letras, espacios y apóstrofos (3 a 150 caracteres).",
                "data-filter": "nombre",
                "autocapitalize": "words",
            }
        ),
    )


def _telefono_field() -> forms.CharField:
    return forms.CharField(
        label="Teléfono",
        max_length=TELEFONO_INPUT_MAX_LENGTH,
        help_text="Celular (300 123 4567) o fijo con indicativo (601 234 5678).",
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "pattern": TELEFONO_HTML_PATTERN,
                "title": "Celular de 10 dígitos que empiece por 3, o fijo de 601 a 608.",
                "data-filter": "telefono",
            }
        ),
    )


class RegistrationForm(TuMessagesMixin, forms.Form):
    nombre_completo = _nombre_field()
    cedula = _cedula_field(
        help_text="Solo números; puedes escribirla con o sin puntos.",
    )
    telefono = _telefono_field()
    password1 = forms.CharField(
        label="Contraseña",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "minlength": 8}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Confirma la contraseña",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=CONFIRM_PASSWORD_HELP,
    )
    accepted_data_policy = forms.BooleanField(
        label="Acepto la política de tratamiento de datos personales",
        error_messages={"required": "Debes aceptar la política de datos para registrarte."},
    )
    # Carried from ?ref= through every submit; junk or unknown codes are ignored.
    ref = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_nombre_completo(self) -> str:
        return normalize_nombre(self.cleaned_data["nombre_completo"])

    def clean_cedula(self) -> str:
        # Whether the cédula is taken is checked last, in clean(): see there.
        return normalize_cedula(self.cleaned_data["cedula"])

    def clean_telefono(self) -> str:
        return normalize_telefono(self.cleaned_data["telefono"])

    def clean_ref(self) -> User | None:
        return user_by_referral_code(code=self.cleaned_data.get("ref"))

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "Las contraseñas no coinciden.")
        elif password1:
            # Compare against what the member typed so "similar to your name" works.
            probe = User(
                cedula=cleaned.get("cedula") or "",
                nombre_completo=cleaned.get("nombre_completo") or "",
                telefono=cleaned.get("telefono") or "",
            )
            try:
                password_validation.validate_password(password1, probe)
            except ValidationError as error:
                self.add_error("password1", error)
        # "Already has an account" says who is a member: only a form that is
        # otherwise valid gets that answer (the view throttles it per address).
        if not self.errors and user_cedula_taken(cedula=cleaned["cedula"]):
            self.add_error("cedula", ValidationError(CEDULA_TAKEN_MESSAGE, code="unique"))
        return cleaned

    @property
    def says_cedula_taken(self) -> bool:
        return self.has_error("cedula", code="unique")


def throttled_authenticate(*, request: HttpRequest, cedula: str, password: str) -> User | None:
    """Authenticate unless the cédula or the client IP is blocked; count a failure.

    Raises ``ValidationError`` (code ``throttled``) while blocked, even for the right
    password. Every attempt is counted before the password is checked (so parallel
    guesses are counted too); the caller records the success once it lets the user
    in, which clears this client's lock and gives the attempt back. Every login form
    (portal and admin) goes through here, so they share the counters.
    """
    ip = throttling.client_ip(request)
    if not throttling.login_attempt_begin(cedula=cedula, ip=ip):
        raise ValidationError(THROTTLED_MESSAGE, code="throttled")
    return authenticate(request, cedula=cedula, password=password)


class LoginForm(TuMessagesMixin, forms.Form):
    cedula = _cedula_field()
    password = forms.CharField(
        label="Contraseña",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    remember = forms.BooleanField(label="Recordarme en este equipo", required=False)

    def __init__(self, request: HttpRequest, *args, **kwargs) -> None:
        self.request = request
        self.user_cache: User | None = None
        super().__init__(*args, **kwargs)
        # The HTML pattern would stop a mistyped cédula before the server can say
        # "incorrect"; keep only the keystroke filter on the login page.
        self.fields["cedula"].widget.attrs.pop("pattern")

    def clean_cedula(self) -> str:
        # Any typed value is accepted here and simply fails to authenticate, so the
        # form never reveals which cédulas are well-formed or registered.
        return strip_cedula(self.cleaned_data["cedula"])

    def clean(self):
        cleaned = super().clean()
        cedula, password = cleaned.get("cedula"), cleaned.get("password")
        if not cedula or not password:
            return cleaned
        user = throttled_authenticate(request=self.request, cedula=cedula, password=password)
        if user is None:
            raise ValidationError(INVALID_LOGIN_MESSAGE, code="invalid_login")
        throttling.login_success_record(cedula=cedula, ip=throttling.client_ip(self.request))
        self.user_cache = user
        return cleaned

    def get_user(self) -> User | None:
        return self.user_cache


def _thousands(number: int) -> str:
    """``10000`` → ``"10.000"``, as templates print numbers with ``intcomma`` in es-co."""
    return f"{number:,}".replace(",", ".")


class ProfileForm(TuMessagesMixin, forms.Form):
    nombre_completo = _nombre_field()
    telefono = _telefono_field()
    referral_goal = forms.IntegerField(
        label="Meta de referidos",
        min_value=REFERRAL_GOAL_MIN,
        max_value=REFERRAL_GOAL_MAX,
        help_text=f"Cuántas personas quieres invitar (de {_thousands(REFERRAL_GOAL_MIN)} a "
        f"{_thousands(REFERRAL_GOAL_MAX)}).",
        # Django's own messages print the limit as "10000".
        error_messages={
            "min_value": f"Escribe un número mayor o igual a {_thousands(REFERRAL_GOAL_MIN)}.",
            "max_value": f"Escribe un número menor o igual a {_thousands(REFERRAL_GOAL_MAX)}.",
        },
    )

    def clean_nombre_completo(self) -> str:
        return normalize_nombre(self.cleaned_data["nombre_completo"])

    def clean_telefono(self) -> str:
        return normalize_telefono(self.cleaned_data["telefono"])


class PortalPasswordChangeForm(TuMessagesMixin, PasswordChangeForm):
    """Django's form with the portal's labels and messages in "tú"."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "Tu contraseña actual no es correcta. Escríbela de nuevo.",
        "password_mismatch": "Las dos contraseñas nuevas no coinciden.",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password2"].help_text = CONFIRM_PASSWORD_HELP
        self.fields["old_password"].label = "Contraseña actual"
        self.fields["new_password1"].label = "Contraseña nueva"
        self.fields["new_password2"].label = "Confirma la contraseña nueva"
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class ReferralSearchForm(TuMessagesMixin, forms.Form):
    q = forms.CharField(label="Buscar por nombre o cédula", required=False, max_length=100, strip=True)


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form with the portal's throttling (see ``throttled_authenticate``).

    Without it /admin/login/ would be an unthrottled door for guessing passwords.
    """

    def clean(self):
        cedula = strip_cedula(self.cleaned_data.get("username") or "")
        password = self.cleaned_data.get("password")
        if cedula and password:
            self.user_cache = throttled_authenticate(request=self.request, cedula=cedula, password=password)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            # Refuses members who are not staff (no failure counted: the password was right).
            self.confirm_login_allowed(self.user_cache)
            throttling.login_success_record(cedula=cedula, ip=throttling.client_ip(self.request))
        return self.cleaned_data


class DeleteAccountForm(TuMessagesMixin, forms.Form):
    """Deleting the account asks for the password again (same throttling as the login)."""

    password = forms.CharField(
        label="Tu contraseña",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label="Entiendo que mi cuenta y mis datos se borran y que no se puede deshacer",
        error_messages={"required": "Marca la casilla para confirmar que quieres eliminar tu cuenta."},
    )

    def __init__(self, request: HttpRequest, *args, **kwargs) -> None:
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        if throttled_authenticate(request=self.request, cedula=user.cedula, password=password) is None:
            raise ValidationError("La contraseña no es correcta.", code="invalid_password")
        return password


class AcceptPolicyForm(TuMessagesMixin, forms.Form):
    accept = forms.BooleanField(
        label="Acepto la política de tratamiento de datos personales",
        error_messages={"required": "Para seguir usando el portal debes aceptar la política."},
    )


class EventLinkForm(TuMessagesMixin, forms.Form):
    name = forms.CharField(
        label="Nombre del evento", max_length=80, help_text="Por ejemplo: Mitin en la plaza."
    )
    hours = forms.IntegerField(label="Horas que estará abierto", min_value=1, initial=4)

    def __init__(self, *args, max_hours: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hours"].max_value = max_hours
        self.fields["hours"].widget.attrs["max"] = max_hours
        self.fields["hours"].validators.append(MaxValueValidator(max_hours))
        self.fields["hours"].help_text = f"De 1 a {max_hours} horas."
