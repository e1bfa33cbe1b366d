"""Perfil: the member edits their data and password."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import PortalPasswordChangeForm, ProfileForm
from accounts.services.users import user_profile_update


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
