"""What the Registraduría answered, as a typed result, and the pure parsers of its replies.

Nothing here does I/O: ``parse_response`` turns the JSON body of the wsp lookup POST into a
:class:`LookupResult`, ``parse_consultacenso`` does the same for the consultacenso API. Both are
total functions: any input, however broken, gives a result and never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

RAW_LIMIT = 64 * 1024


class LookupStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    CANCELLED = "cancelled"
    PENDING = "pending"
    CAPTCHA_REJECTED = "captcha_rejected"
    SESSION_EXPIRED = "session_expired"
    BLOCKED = "blocked"
    SITE_ERROR = "site_error"
    UNKNOWN = "unknown"


TRANSIENT_STATUSES = frozenset(
    {
        LookupStatus.CAPTCHA_REJECTED,
        LookupStatus.SESSION_EXPIRED,
        LookupStatus.BLOCKED,
        LookupStatus.SITE_ERROR,
    }
)


@dataclass(frozen=True)
class LookupResult:
    """One lookup's outcome.

    ``message`` is the site's own text when there is one, ``raw`` the reply body capped at 64 KB,
    ``source`` which site answered (``"wsp"`` or ``"consultacenso"``), ``timed_out`` whether our own
    deadline (or a page timeout) ended the lookup, ``error`` an operator-facing detail.
    """

    status: LookupStatus
    departamento: str = ""
    municipio: str = ""
    puesto: str = ""
    direccion: str = ""
    mesa: str = ""
    novedad: str = ""
    resolucion: str = ""
    fecha_novedad: str = ""
    deceased: bool = False
    message: str = ""
    raw: str = ""
    source: str = ""
    timed_out: bool = False
    error: str = ""

    @property
    def is_transient(self) -> bool:
        """True when trying again later may give a different answer."""
        return self.status in TRANSIENT_STATUSES or self.timed_out
