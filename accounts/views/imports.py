"""Importar (issue 14): a leader uploads a spreadsheet of contacts, checks it, confirms,
and follows the import until every voting place is known.

Leaders only (403 for members). Someone else's import answers 404, like an unknown id.
"""

from __future__ import annotations

import csv
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.counters import counter_hit
from accounts.exports import CSV_SEPARATOR, Echo, csv_safe, import_report_rows, xlsx_response
from accounts.importing import ROLE_LABELS, ROLES, ImportFileError, columns_from, guess_columns
from accounts.models import AuditEntry, ContactImport
from accounts.selectors.contacts import eta_text, import_of, import_progress, imports_of
from accounts.services.audit import audit_record
from accounts.services.imports import (
    CONSENT_STATEMENT,
    Draft,
    ImportRefused,
    check_table,
    draft_discard,
    draft_table,
    import_confirm,
    import_stage,
    new_lookups_needed,
    read_limited,
)
from accounts.throttling import client_ip

log = logging.getLogger(__name__)

_SESSION_KEY = "contact_import_draft"
PREVIEW_ROWS = 20
REJECTS_SHOWN = 200


def _leader_only(request: HttpRequest) -> None:
    if not request.user.is_leader:
        raise PermissionDenied("Importar es para líderes.")


def _draft(request: HttpRequest) -> Draft | None:
    return Draft.from_session(request.session.get(_SESSION_KEY), leader_id=request.user.pk)


@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    """The leader's imports and the upload form; POST uploads a file for the preview."""
    _leader_only(request)
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("archivo")
        if upload is None:
            messages.error(request, "Elige un archivo .xlsx o .csv para subir.")
            status = 400
        else:
            try:
                data = read_limited(upload)
                draft, _table = import_stage(
                    leader=request.user,
                    file_name=upload.name or "archivo",
                    data=data,
                    previous=_draft(request),
                )
            except (ImportRefused, ImportFileError) as exc:
                messages.error(request, str(exc))
                status = 400
            else:
                request.session[_SESSION_KEY] = draft.as_session()
                return redirect("accounts:import_review")
    return render(
        request,
        "accounts/imports.html",
        {
            "imports": imports_of(leader=request.user)[:50],
            "max_mb": settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024),
            "max_rows": settings.IMPORT_MAX_ROWS,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def import_review(request: HttpRequest) -> HttpResponse:
    """Column choice, preview and every rejected row with its reason; POST ``confirmar`` confirms."""
    _leader_only(request)
    draft = _draft(request)
    if draft is None:
        messages.info(request, "Sube un archivo para empezar.")
        return redirect("accounts:imports")
    try:
        table = draft_table(draft)
    except (ImportRefused, ImportFileError) as exc:
        request.session.pop(_SESSION_KEY, None)
        messages.error(request, str(exc))
        return redirect("accounts:imports")
    width = len(table.header)
    columns = (
        guess_columns(table.header) if table.has_header else {"cedula": 0, "nombre": 1, "telefono": None}
    )
    column_error = ""
    status = 200
    if request.method == "POST":
        try:
            columns = columns_from(request.POST, width=width)
        except ValueError:
            column_error = "Elige una columna distinta para la cédula y para el nombre."
            status = 400
    if columns.get("cedula") is None or columns.get("nombre") is None:
        column_error = (
            column_error or "No reconocimos las columnas: dinos cuál tiene la cédula y cuál el nombre."
        )
    if request.method == "POST" and "confirmar" in request.POST and not column_error:
        try:
            contact_import = import_confirm(
                leader=request.user,
                draft=draft,
                columns=columns,
                header=table.header,
                ip=client_ip(request),
                consented=request.POST.get("autorizacion") == "on",
            )
        except (ImportRefused, ImportFileError) as exc:
            messages.error(request, str(exc))
            status = 400
        else:
            request.session.pop(_SESSION_KEY, None)
            messages.success(request, "Listo: estamos creando tus contactos. Puedes cerrar esta página.")
            return redirect("accounts:import_detail", import_id=contact_import.pk)
    checks = [] if column_error else check_table(leader=request.user, table=table, columns=columns)
    rejected = [c for c in checks if not c.ok]
    accepted = len(checks) - len(rejected)
    return render(
        request,
        "accounts/import_review.html",
        {
            "draft": draft,
            "table": table,
            "header": table.header,
            # Padded: a row's trailing blank cells were dropped when it was read.
            "preview": [(n, cells + [""] * (width - len(cells))) for n, cells in table.rows[:PREVIEW_ROWS]],
            "row_count": len(table.rows),
            "columns": columns,
            "roles": [(role, ROLE_LABELS[role], columns.get(role)) for role in ROLES],
            "column_error": column_error,
            "accepted": accepted,
            "rejected": rejected[:REJECTS_SHOWN],
            "rejected_count": len(rejected),
            "new_lookups": new_lookups_needed(checks) if checks else 0,
            "statement": CONSENT_STATEMENT,
            "column_options": list(enumerate(table.header)),
        },
        status=status,
    )


@require_POST
def import_discard(request: HttpRequest) -> HttpResponse:
    _leader_only(request)
    draft = _draft(request)
    if draft is not None:
        draft_discard(draft)
    request.session.pop(_SESSION_KEY, None)
    messages.info(request, "Descartamos el archivo. No se importó nada.")
    return redirect("accounts:imports")


def _progress_context(contact_import: ContactImport) -> dict:
    progress = import_progress(contact_import=contact_import)
    return {"imp": contact_import, "progress": progress, "eta": eta_text(progress.eta_seconds)}


@require_GET
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    _leader_only(request)
    contact_import = import_of(leader=request.user, import_id=import_id)
    return render(request, "accounts/import_detail.html", _progress_context(contact_import))


@require_GET
def import_progress_fragment(request: HttpRequest, import_id: int) -> HttpResponse:
    """The progress box alone, polled by htmx every two seconds until everything is done."""
    _leader_only(request)
    contact_import = import_of(leader=request.user, import_id=import_id)
    response = render(request, "accounts/partials/import_progress.html", _progress_context(contact_import))
    response["Cache-Control"] = "no-store"
    return response


def _report_allowed(request: HttpRequest, contact_import: ContactImport, fmt: str) -> bool:
    if contact_import.status != ContactImport.Status.DONE:
        messages.warning(request, "El reporte estará listo cuando la importación termine.")
        return False
    used = counter_hit(
        f"network-export-budget:{request.user.pk}",
        window=settings.NETWORK_EXPORT_RATE_WINDOW_SECONDS,
        limit=settings.NETWORK_EXPORT_RATE_LIMIT,
    )
    if used is None:
        messages.warning(
            request,
            f"Ya descargaste {settings.NETWORK_EXPORT_RATE_LIMIT} archivos en la última hora. "
            "Espera un rato e inténtalo de nuevo.",
        )
        return False
    audit_record(
        actor=request.user,
        action=AuditEntry.Action.IMPORT_REPORT,
        target=f"contactimport:{contact_import.pk}",
        filters={"formato": fmt},
        row_count=contact_import.rows_total,
    )
    return True


def _report_name(contact_import: ContactImport, ext: str) -> str:
    return f"importacion-{contact_import.pk}-reporte.{ext}"


@require_GET
def import_report_xlsx(request: HttpRequest, import_id: int) -> HttpResponse:
    _leader_only(request)
    contact_import = import_of(leader=request.user, import_id=import_id)
    if not _report_allowed(request, contact_import, "xlsx"):
        return redirect("accounts:import_detail", import_id=contact_import.pk)
    return xlsx_response(import_report_rows(contact_import), _report_name(contact_import, "xlsx"))


@require_GET
def import_report_csv(request: HttpRequest, import_id: int) -> HttpResponse:
    _leader_only(request)
    contact_import = import_of(leader=request.user, import_id=import_id)
    if not _report_allowed(request, contact_import, "csv"):
        return redirect("accounts:import_detail", import_id=contact_import.pk)
    writer = csv.writer(Echo(), delimiter=CSV_SEPARATOR)

    def stream():
        yield "\ufeff"
        for row in import_report_rows(contact_import):
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_report_name(contact_import, "csv")}"'
    response["Cache-Control"] = "private, no-store"
    return response


def import_url(contact_import: ContactImport) -> str:
    return reverse("accounts:import_detail", kwargs={"import_id": contact_import.pk})
