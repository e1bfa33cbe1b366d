"""Look one cédula up on the Registraduría (or the replica) and print what came back.

Operators use it to debug a source by hand: ``python manage.py lookup_cedula 1000000001 --json
--url https://wsp.registraduria.gov.co/censo/consultar/``. Exit code 0 for a definitive answer
(found, not found, cancelled, pending), 1 for a transient failure (blocked, captcha, timeout...),
2 for an answer we could not read or bad input.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from actors.registraduria import build_client_config
from scrapers.client import SOURCES, clean_cedula, lookup_sync, result_as_dict
from scrapers.registraduria import LookupStatus

FIELDS = (
    "departamento",
    "municipio",
    "puesto",
    "direccion",
    "mesa",
    "zona",
    "novedad",
    "resolucion",
    "fecha_novedad",
    "deceased",
    "message",
    "timed_out",
    "error",
)


def _source_named_in(url: str) -> str:
    if "identificacion" in url or "eleccionescolombia" in url:
        return "eleccionescolombia"
    return "consultacenso" if "consultacenso" in url else "wsp"


class Command(BaseCommand):
    help = "Look a cédula up on the Registraduría and print the parsed result."

    def add_arguments(self, parser):
        parser.add_argument("cedula")
        parser.add_argument(
            "--source", choices=SOURCES, help="query only this source (default: all, in order)"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the result as JSON")
        parser.add_argument(
            "--url",
            help="page URL to query instead of the configured one; it replaces the URL of --source "
            "(default: the source the URL names, e.g. consultacenso or eleccionescolombia, else wsp) "
            "and only that source is queried",
        )
        parser.add_argument("--deadline", type=float, help="seconds before giving up (default: settings)")
        parser.add_argument("--raw", action="store_true", help="also print the raw reply body")

    def handle(self, *args, cedula, source, as_json, url, deadline, raw, **options):
        if clean_cedula(cedula) is None:
            raise CommandError("invalid cédula: expected 3 to 10 digits, no leading zero", returncode=2)
        overrides = {}
        if url:
            source = source or _source_named_in(url)
            overrides["source_urls"] = {source: url}
        if deadline:
            overrides["deadline_seconds"] = deadline
        # One lookup: one page is enough.
        config = build_client_config(pool_size=1, **overrides)
        result = lookup_sync(cedula, config, source=source)
        if as_json:
            data = result_as_dict(result)
            if not raw:
                data.pop("raw")
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"status: {result.status.value}")
            self.stdout.write(f"source: {result.source or '-'}")
            for name in FIELDS:
                value = getattr(result, name)
                if value:
                    self.stdout.write(f"{name}: {value}")
            if raw and result.raw:
                self.stdout.write(f"raw: {result.raw}")
        if result.is_transient:
            raise SystemExit(1)
        if result.status == LookupStatus.UNKNOWN:
            raise SystemExit(2)
