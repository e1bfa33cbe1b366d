"""The Registraduría's public lookup pages, one module each, in one registry.

Each module exposes ``SOURCE`` (a :class:`~scrapers.sources.base.Source`): how to drive its page
and how to read its reply. A new page means a new module here, its name in ``SOURCES`` below, a
replica module in ``scrapers.replica`` and a ``REGISTRADURIA_<NAME>_URL`` setting; the client, the
fallback order (``REGISTRADURIA_SOURCES``) and the Django side need nothing else.
"""

from __future__ import annotations

from . import consultacenso, eleccionescolombia, wsp
from .base import Source

SOURCES: dict[str, Source] = {
    module.SOURCE.name: module.SOURCE for module in (wsp, consultacenso, eleccionescolombia)
}
DEFAULT_ORDER: tuple[str, ...] = tuple(SOURCES)

__all__ = ["DEFAULT_ORDER", "SOURCES", "Source"]
