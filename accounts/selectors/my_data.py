"""Everything the portal holds about one member, for their own download (Ley 1581, art. 8)."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import CedulaChange, CedulaInfo, ConsentRecord, Contact, User

# The census columns the member may see (operators' fields such as claim tokens and
# raw answers are internal bookkeeping, not data about the person).
_CENSUS_FIELDS = (
    "status",
    "departamento",
    "municipio",
    "zona",
    "puesto",
    "direccion",
    "mesa",
    "novedad",
    "resolucion",
    "fecha_novedad",
    "source",
    "fetched_at",
    "changed_at",
)


def _when(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _visible(snapshot: dict) -> str:
    return snapshot.get("puesto") or snapshot.get("status") or "—"


def user_data_export(*, user: User) -> dict:
    """The member's data as plain JSON types: profile, census, history, consents, network.

    Referrals are only counted: their data belongs to them.
    """
    info = CedulaInfo.objects.filter(user=user).first()
    census = None
    if info is not None:
        census = {
            field: (_when(getattr(info, field)) if field.endswith("_at") else getattr(info, field))
            for field in _CENSUS_FIELDS
        }
        census["status_label"] = info.get_status_display()
    referrer = user.referred_by
    return {
        "generated_at": _when(timezone.now()),
        "profile": {
            "cedula": user.cedula,
            "nombre_completo": user.nombre_completo,
            "telefono": user.telefono,
            "role": user.get_role_display(),
            "referral_code": user.referral_code,
            "referral_goal": user.referral_goal,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "census": census,
        "census_history": [
            {
                "changed_at": _when(change.changed_at),
                "source": change.source,
                "old": change.old,
                "new": change.new,
                "summary": f"{_visible(change.old)} → {_visible(change.new)}",
            }
            for change in CedulaChange.objects.filter(user=user).order_by("changed_at")
        ],
        "consents": [
            {"version": record.version, "accepted_at": _when(record.accepted_at), "ip": record.ip}
            for record in ConsentRecord.objects.filter(user=user).order_by("accepted_at")
        ],
        "referred_by": (
            None
            if referrer is None
            else {"nombre_completo": referrer.nombre_completo, "deleted": referrer.deleted_at is not None}
        ),
        "referrals_count": User.objects.filter(referred_by=user).count(),
        # Leaders who had this person on an imported list before they registered (issue 14):
        # who holds their data, and since when. Only the leader's name, nothing of what they typed.
        "contact_of": [
            {"lider": contact.leader.nombre_completo, "desde": _when(contact.created_at)}
            for contact in Contact.objects.filter(person=user).select_related("leader").order_by("created_at")
        ],
    }
