import csv
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.forms import (
    LoginForm,
    PortalPasswordChangeForm,
    ProfileForm,
    ReferralSearchForm,
    RegistrationForm,
)
from accounts.models import User
from accounts.redirects import safe_target
from accounts.selectors.users import (
    REFERRALS_PER_PAGE,
    user_by_referral_code,
    user_referral_count,
    user_referrals,
)
from accounts.services.users import user_profile_update, user_referrals_mark_seen, user_register
from accounts.throttling import client_ip, signup_is_blocked, signup_record


def _referral_link(request: HttpRequest, user: User) -> str:
    return request.build_absolute_uri(f"{reverse('accounts:register')}?ref={user.referral_code}")


def _safe_next(request: HttpRequest) -> str:
    target = safe_target(request, request.POST.get("next", ""), request.GET.get("next", ""))
    return target or reverse(settings.LOGIN_REDIRECT_URL)


# --- Public pages ---------------------------------------------------------------------
@login_not_required
@require_GET
def data_policy(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/data_policy.html")


@login_not_required
@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:home")
    if request.method == "POST":
        data = request.POST.copy()
        # A form posted to /registro/?ref=X without the hidden field still counts.
        if not data.get("ref"):
            data["ref"] = request.GET.get("ref", "")
        form = RegistrationForm(data)
        ip = client_ip(request)
        if signup_is_blocked(ip=ip):
            form.is_valid()  # keep what was typed, with its own errors
            form.add_error(
                None, "Se han hecho demasiados registros desde esta conexión. Intenta de nuevo en una hora."
            )
            referrer = user_by_referral_code(code=form["ref"].value())
            return render(request, "accounts/register.html", {"form": form, "referrer": referrer}, status=429)
        if form.is_valid():
            try:
                user = user_register(
                    cedula=form.cleaned_data["cedula"],
                    nombre_completo=form.cleaned_data["nombre_completo"],
                    telefono=form.cleaned_data["telefono"],
                    password=form.cleaned_data["password1"],
                    accepted_data_policy=form.cleaned_data["accepted_data_policy"],
                    referred_by=form.cleaned_data["ref"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                signup_record(ip=ip)
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, "¡Bienvenido! Tu cuenta quedó creada.")
                return redirect("accounts:home")
    else:
        form = RegistrationForm(initial={"ref": request.GET.get("ref", "")})
    referrer = user_by_referral_code(code=form["ref"].value())
    return render(request, "accounts/register.html", {"form": form, "referrer": referrer})


@login_not_required
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        auth_login(request, form.get_user())
        # Unchecked: the cookie dies with the browser. Checked: SESSION_COOKIE_AGE (14 days).
        request.session.set_expiry(settings.SESSION_COOKIE_AGE if form.cleaned_data["remember"] else 0)
        return redirect(_safe_next(request))
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")})


@login_not_required
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # Nothing to end; and no ?next=/salir/ that would greet them with this page after login.
        return redirect(settings.LOGOUT_REDIRECT_URL)
    if request.method == "GET":
        # Logging out stays POST-only (a link or an <img> must not end a session);
        # a bookmarked or typed /salir/ gets a page with the button instead of a 405.
        return render(request, "logout.html")
    auth_logout(request)
    messages.info(request, "Cerraste tu sesión.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


# --- Member pages ---------------------------------------------------------------------
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    count = user_referral_count(user=user)
    goal = max(user.referral_goal, 1)
    return render(
        request,
        "accounts/home.html",
        {
            "referral_link": _referral_link(request, user),
            "referral_count": count,
            "referral_goal": goal,
            "referral_progress": min(100, round(count * 100 / goal)),
        },
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        "nombre_completo": user.nombre_completo,
        "telefono": user.telefono,
        "referral_goal": user.referral_goal,
    }
    profile_form = ProfileForm(initial=initial)
    password_form = PortalPasswordChangeForm(user)
    if request.method == "POST":
        if request.POST.get("form") == "password":
            password_form = PortalPasswordChangeForm(user, request.POST)
            if password_form.is_valid():
                password_form.save()
                # Keep this session alive; other sessions of the member end.
                update_session_auth_hash(request, password_form.user)
                messages.success(request, "Tu contraseña quedó cambiada.")
                return redirect("accounts:profile")
        else:
            profile_form = ProfileForm(request.POST)
            if profile_form.is_valid():
                user_profile_update(user=user, **profile_form.cleaned_data)
                messages.success(request, "Tus datos quedaron guardados.")
                return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {"profile_form": profile_form, "password_form": password_form},
    )


@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    search = ReferralSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    changed_only = request.GET.get("cambios") == "1"
    seen_at = _referrals_baseline(request)
    page = Paginator(
        user_referrals(user=request.user, query=query, changed_only=changed_only, changed_since=seen_at),
        REFERRALS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/referrals.html",
        {
            "search": search,
            "query": query,
            "page": page,
            "referral_total": user_referral_count(user=request.user),
            "changed_only": changed_only,
            "seen_at": seen_at,
            "bulk_limit": settings.LOOKUP_BULK_REFRESH_LIMIT,
        },
    )


_BASELINE_KEY = "referrals_changes_since"


def _referrals_baseline(request: HttpRequest):
    """When the leader last looked at Referidos, before this session.

    The first visit of a session remembers the previous visit in the session (so
    marks and the filter stay put while the leader works) and records this one;
    the next session shows only what changed after it.
    """
    if _BASELINE_KEY not in request.session:
        previous = request.user.referrals_seen_at
        request.session[_BASELINE_KEY] = previous.isoformat() if previous else ""
        user_referrals_mark_seen(user=request.user)
    stored = request.session[_BASELINE_KEY]
    return datetime.fromisoformat(stored) if stored else None


@require_POST
def referrals_mark_seen(request: HttpRequest) -> HttpResponse:
    user_referrals_mark_seen(user=request.user)
    request.session[_BASELINE_KEY] = request.user.referrals_seen_at.isoformat()
    messages.success(request, "Listo: los cambios quedaron marcados como vistos.")
    return redirect("accounts:referrals")


# --- CSV export -----------------------------------------------------------------------
# ";" because Excel set to Spanish (Colombia) uses "," as the decimal mark and ";" as
# its list separator, so a double-clicked file opens in columns. The BOM makes Excel
# read UTF-8 (accents, ñ). No "sep=;" line: with it Excel ignores the BOM.
CSV_SEPARATOR = ";"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection) by prefixing a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _referral_csv_rows(referrals, *, census: bool) -> Iterator[list[str]]:
    """Rows of the export; leaders also get each referral's census data."""
    base_header = ["Nombre completo", "Cédula", "Teléfono", "Fecha de registro"]
    census_header = [
        "Estado censo",
        "Departamento",
        "Municipio",
        "Puesto",
        "Dirección",
        "Mesa",
        "Novedad",
        "Consultado el",
        "Último cambio",
    ]
    yield base_header + (census_header if census else [])
    for referral in referrals.iterator(chunk_size=1000):
        info = getattr(referral, "cedula_info", None)
        census_cells = (
            [
                info.get_status_display(),
                info.departamento,
                info.municipio,
                info.puesto,
                info.direccion,
                info.mesa,
                info.novedad,
                _local(info.fetched_at),
                _local(info.changed_at),
            ]
            if info
            else ["Sin consultar", "", "", "", "", "", "", "", ""]
        )
        yield [
            referral.nombre_completo,
            referral.cedula,
            referral.telefono,
            _local(referral.date_joined),
            *(census_cells if census else []),
        ]


@require_GET
def referrals_csv(request: HttpRequest) -> StreamingHttpResponse:
    search = ReferralSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    writer = csv.writer(_Echo(), delimiter=CSV_SEPARATOR)
    # Built before streaming starts: the lazy queryset runs inside the stream, but
    # the session (read by the baseline) is saved before the body is sent.
    referrals = user_referrals(
        user=request.user,
        query=query,
        changed_only=request.GET.get("cambios") == "1",
        changed_since=_referrals_baseline(request),
    )

    def stream() -> Iterator[str]:
        yield "\ufeff"
        for row in _referral_csv_rows(referrals, census=request.user.is_leader):
            yield writer.writerow([csv_safe(cell) for cell in row])

    filename = f"referidos-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
