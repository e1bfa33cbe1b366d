"""Reads about members and their referrals."""

import re
from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.models import REFERRAL_CODE_ALPHABET, User
from accounts.validators import fold_accents, strip_cedula

REFERRALS_PER_PAGE = 50
_REFERRAL_CODE = re.compile(rf"[{REFERRAL_CODE_ALPHABET}]{{4,12}}")


def user_cedula_taken(*, cedula: str) -> bool:
    # A contact's row (a person a leader imported) is not an account: they may register.
    return User.objects.filter(cedula=cedula, is_contact=False).exists()


def user_by_referral_code(*, code: str | None) -> User | None:
    """The active member owning ``code`` (case-insensitive), or None for junk/unknown codes."""
    code = (code or "").strip().upper()
    if not _REFERRAL_CODE.fullmatch(code):
        return None
    return User.objects.filter(referral_code=code, is_active=True).first()


def _referrals_base(*, user: User) -> QuerySet[User]:
    # The census row comes along so the table and the CSV stay one query per page.
    # A tombstone (a deleted member) keeps its place in the network but is nobody's data.
    return User.objects.filter(referred_by=user, deleted_at__isnull=True).select_related("cedula_info")


def user_referrals(
    *, user: User, query: str | None = None, changed_only: bool = False, changed_since: datetime | None = None
) -> QuerySet[User]:
    """The member's own referrals, newest first, optionally filtered by ``query``.

    ``changed_only`` keeps the referrals whose voting place or census status changed
    after ``changed_since`` (ever, when None). A query made only of digits and cédula
    separators searches the cédula (``1.234`` finds ``1234567``); anything else
    searches the name word by word, ignoring case and accents (``nunez jose`` finds
    ``José Núñez``).
    """
    qs = _referrals_base(user=user)
    if changed_only:
        qs = qs.filter(cedula_info__changed_at__isnull=False)
        if changed_since:
            qs = qs.filter(cedula_info__changed_at__gt=changed_since)
    qs = referral_search(qs, query)
    return qs.order_by("-date_joined", "-pk")


def referral_search(qs: QuerySet[User], query: str | None, *, contacts=None) -> QuerySet[User]:
    """Narrow ``qs`` by a cédula (digits and separators) or by name words, ignoring case and accents.

    ``contacts`` (the viewer's network's Contact rows) makes a contact's name searchable:
    theirs is on the Contact row, not on the person's.
    """
    query = (query or "").strip()
    if query:
        digits = strip_cedula(query)
        if digits.isascii() and digits.isdigit():
            qs = qs.filter(cedula__contains=digits)
        else:
            # nombre_busqueda is the name already folded by fold_accents (accounts.signals).
            for word in fold_accents(query).split()[:10]:
                condition = Q(nombre_busqueda__contains=word)
                if contacts is not None:
                    named = contacts.filter(nombre_busqueda__contains=word).values("person_id")
                    condition |= Q(is_contact=True, pk__in=named)
                qs = qs.filter(condition)
    return qs


def user_referral_count(*, user: User) -> int:
    return User.objects.filter(referred_by=user, deleted_at__isnull=True).count()
