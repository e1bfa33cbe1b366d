"""Admin for members: same normalisation as the portal, superusers protected from staff."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied

from accounts.admin.audit import AuditedChangeViewMixin
from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.models import User
from accounts.services.users import user_role_set
from accounts.validators import normalize_cedula, normalize_nombre, normalize_telefono, strip_cedula

# /admin/login/ counts failures against the same per-cédula and per-IP limits as the
# portal's login; otherwise it would be an unthrottled door for password guessing.
admin.site.login_form = ThrottledAdminAuthenticationForm


class _MemberFieldsMixin:
    """Same normalisation as the public forms, so admins cannot store a badly formed cédula."""

    def clean_cedula(self) -> str:
        return normalize_cedula(self.cleaned_data["cedula"])

    def clean_nombre_completo(self) -> str:
        return normalize_nombre(self.cleaned_data["nombre_completo"])

    def clean_telefono(self) -> str:
        # Optional here: staff accounts made by an operator may have no phone.
        value = self.cleaned_data.get("telefono", "")
        return normalize_telefono(value) if value.strip() else ""


class UserCreationAdminForm(_MemberFieldsMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("cedula", "nombre_completo", "telefono")


class UserChangeAdminForm(_MemberFieldsMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(AuditedChangeViewMixin, BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ("-date_joined",)
    list_display = ("cedula", "nombre_completo", "telefono", "role", "is_staff", "is_active", "date_joined")
    list_display_links = ("cedula", "nombre_completo")
    list_filter = ("role", "is_contact", "is_staff", "is_active", "date_joined")
    search_fields = ("cedula", "nombre_completo")
    autocomplete_fields = ("referred_by",)
    list_select_related = False
    date_hierarchy = "date_joined"
    actions = ("make_leader", "make_user")
    fieldsets = (
        (None, {"fields": ("cedula", "password")}),
        ("Datos personales", {"fields": ("nombre_completo", "telefono")}),
        (
            "Referidos",
            {"fields": ("referral_code", "referred_by", "referral_goal", "role", "referrals_seen_at")},
        ),
        (
            "Política de datos",
            {"fields": ("accepted_data_policy", "data_policy_accepted_at")},
        ),
        (
            "Permisos",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Fechas", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "cedula",
                    "nombre_completo",
                    "telefono",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("referral_code", "last_login", "date_joined", "data_policy_accepted_at")
    # Privilege fields only a superuser may touch: otherwise a staff member with
    # "change user" could promote anyone, including themselves.
    _superuser_only_fields = ("role", "is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [f for f in self._superuser_only_fields if f not in fields]
        return fields

    @staticmethod
    def _guards_superuser(request, obj) -> bool:
        """True when a non-superuser acts on a superuser: changing their password,
        deactivating or deleting them would hand over the whole site."""
        return obj is not None and obj.is_superuser and not request.user.is_superuser

    # Django's password-change view and the delete action check these per object too.
    def has_change_permission(self, request, obj=None):
        return not self._guards_superuser(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._guards_superuser(request, obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("make_leader", None)
            actions.pop("make_user", None)
        return actions

    def get_search_results(self, request, queryset, search_term):
        # "1.234.567" finds cédula 1234567.
        digits = strip_cedula(search_term)
        if digits.isascii() and digits.isdigit() and digits != search_term.strip():
            search_term = digits
        return super().get_search_results(request, queryset, search_term)

    def _set_role(self, request, queryset, role: str) -> None:
        try:
            changed = user_role_set(
                actor=request.user, user_ids=list(queryset.values_list("pk", flat=True)), role=role
            )
        except PermissionDenied as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        label = User.Role(role).label.lower()
        self.message_user(request, f"{changed} usuario(s) marcados como {label}.", messages.SUCCESS)

    @admin.action(description="Marcar como líder")
    def make_leader(self, request, queryset):
        self._set_role(request, queryset, User.Role.LEADER)

    @admin.action(description="Marcar como usuario")
    def make_user(self, request, queryset):
        self._set_role(request, queryset, User.Role.USER)
