"""Writes about members: registration, profile, roles."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ConsentRecord, User, generate_referral_code
from accounts.selectors.users import user_cedula_taken

CEDULA_TAKEN_MESSAGE = "Ya existe una cuenta con esta cédula. Si es tuya, ingresa con tu contraseña."
_REFERRAL_CODE_ATTEMPTS = 5


@transaction.atomic
def user_register(
    *,
    cedula: str,
    nombre_completo: str,
    telefono: str,
    password: str,
    accepted_data_policy: bool,
    referred_by: User | None = None,
    ip: str | None = None,
) -> User:
    """Create a member from already-normalised values.

    Raises ``ValidationError`` (keyed ``cedula``) when the cédula is taken, also when
    a concurrent registration inserted it between the check and the insert.
    """
    if not accepted_data_policy:
        raise ValidationError({"accepted_data_policy": "Debes aceptar la política de datos."})
    if user_cedula_taken(cedula=cedula):
        raise ValidationError({"cedula": CEDULA_TAKEN_MESSAGE})
    from accounts.services.contacts import contact_person_become_member

    became = contact_person_become_member(
        cedula=cedula,
        nombre_completo=nombre_completo,
        telefono=telefono,
        password=password,
        referred_by=referred_by,
        ip=ip,
    )
    if became is not None:
        return became
    user = User(
        cedula=cedula,
        nombre_completo=nombre_completo,
        telefono=telefono,
        accepted_data_policy=True,
        data_policy_accepted_at=timezone.now(),
        data_policy_version=settings.DATA_POLICY_VERSION,
        referred_by=referred_by,
    )
    user.set_password(password)
    for _ in range(_REFERRAL_CODE_ATTEMPTS):
        try:
            # A savepoint, so a unique violation leaves the outer transaction usable.
            with transaction.atomic():
                user.save()
            ConsentRecord.objects.create(
                user=user,
                version=user.data_policy_version,
                accepted_at=user.data_policy_accepted_at,
                ip=ip or None,
            )
            return user
        except IntegrityError as exc:
            if user_cedula_taken(cedula=cedula):
                raise ValidationError({"cedula": CEDULA_TAKEN_MESSAGE}) from exc
            # Otherwise the random referral code collided: draw another one.
            user.pk = None
            user.referral_code = generate_referral_code()
    raise IntegrityError("could not allocate a unique referral code")


@transaction.atomic
def user_profile_update(*, user: User, nombre_completo: str, telefono: str, referral_goal: int) -> User:
    user.nombre_completo = nombre_completo
    user.telefono = telefono
    user.referral_goal = referral_goal
    user.save(update_fields=["nombre_completo", "telefono", "referral_goal"])
    return user


@transaction.atomic
def user_role_set(*, actor: User, user_ids: list[int], role: str) -> int:
    """Set ``role`` on the given users; only superusers may. Returns how many changed."""
    if not actor.is_superuser:
        raise PermissionDenied("Solo un superusuario puede cambiar roles.")
    if role not in User.Role.values:
        raise ValidationError({"role": "Rol desconocido."})
    return User.objects.filter(pk__in=user_ids).exclude(role=role).update(role=role)


def user_referrals_mark_seen(*, user: User) -> None:
    """The leader has seen every change of their referrals up to now."""
    user.referrals_seen_at = timezone.now()
    user.save(update_fields=["referrals_seen_at"])
