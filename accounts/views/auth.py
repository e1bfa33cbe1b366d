"""Public pages: sign-up, login, logout and the data policy."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import LoginForm, RegistrationForm
from accounts.selectors.users import user_by_referral_code
from accounts.services.events import event_link_for, event_signup_release, event_signup_reserve
from accounts.services.users import user_register
from accounts.throttling import client_ip, membership_probe_allowed, signup_release, signup_reserve
from accounts.views.common import safe_next

PROBE_THROTTLED_MESSAGE = (
    "Se han hecho demasiados intentos de registro desde esta conexión. Intenta de nuevo más tarde."
)


@login_not_required
@require_GET
def data_policy(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/data_policy.html",
        {
            "policy_version": settings.DATA_POLICY_VERSION,
            "controller_name": settings.DATA_CONTROLLER_NAME,
            "controller_contact": settings.DATA_CONTROLLER_CONTACT,
        },
    )


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
        # A rally's "evento" link swaps the general per-IP limit for its own, higher one,
        # and credits the leader who opened it.
        event = event_link_for(token=request.POST.get("evento") or request.GET.get("evento"))
        if event and not data.get("ref"):
            data["ref"] = event.leader.referral_code
        form = RegistrationForm(data)
        ip = client_ip(request)
        # Reserved before the account exists, so parallel signups cannot overrun it; a
        # rally's link has its own, higher limit instead (accounts.services.events).
        reserved = event_signup_reserve(link=event, ip=ip) if event else signup_reserve(ip=ip)
        blocked = not reserved
        if blocked:
            form.is_valid()  # keep what was typed, with its own errors
            form.add_error(
                None, "Se han hecho demasiados registros desde esta conexión. Intenta de nuevo en una hora."
            )
            return _register_page(request, form, event=event, status=429)
        user = None
        if form.is_valid():
            try:
                user = user_register(
                    cedula=form.cleaned_data["cedula"],
                    nombre_completo=form.cleaned_data["nombre_completo"],
                    telefono=form.cleaned_data["telefono"],
                    password=form.cleaned_data["password1"],
                    accepted_data_policy=form.cleaned_data["accepted_data_policy"],
                    referred_by=form.cleaned_data["ref"],
                    ip=ip,
                )
            except ValidationError as error:
                form.add_error(None, error)
        if user is None:
            if event:
                event_signup_release(link=event, ip=ip)
            else:
                signup_release(ip=ip)
            if form.says_cedula_taken and not membership_probe_allowed(ip=ip):
                # Too many "already a member" answers from here: stop answering that.
                del form.errors["cedula"]
                form.add_error(None, PROBE_THROTTLED_MESSAGE)
                return _register_page(request, form, event=event, status=429)
        else:
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "¡Bienvenido! Tu cuenta quedó creada.")
            return redirect("accounts:home")
    else:
        form = RegistrationForm(initial={"ref": request.GET.get("ref", "")})
        event = event_link_for(token=request.GET.get("evento"))
    return _register_page(request, form, event=event)


def _register_page(
    request: HttpRequest, form: RegistrationForm, *, event=None, status: int = 200
) -> HttpResponse:
    referrer = user_by_referral_code(code=form["ref"].value())
    context = {"form": form, "referrer": referrer, "event": event}
    return render(request, "accounts/register.html", context, status=status)


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
        return redirect(safe_next(request))
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
