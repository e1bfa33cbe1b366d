"""Sentences a member reads that are built from numbers (one place, "tú" throughout)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from django.conf import settings

from accounts.services.cedulas import RefreshOutcome, RefreshRefusal


def _plural(count: int, noun: tuple[str, str]) -> str:
    return f"{count} {noun[0] if count == 1 else noun[1]}"


def _reason(refusal: RefreshRefusal | None, count: int) -> str:
    they = "ya tenía" if count == 1 else "ya tenían"
    if refusal == RefreshRefusal.IN_FLIGHT:
        return f"{they} una consulta en curso"
    if refusal == RefreshRefusal.COOLDOWN:
        seconds = settings.LOOKUP_REFRESH_COOLDOWN_SECONDS
        return (
            f"se consultó hace menos de {seconds} segundos"
            if count == 1
            else (f"se consultaron hace menos de {seconds} segundos")
        )
    if refusal == RefreshRefusal.RATE_LIMITED:
        return "llegaste al límite de consultas por hora; intenta de nuevo más tarde"
    return "no se pudo enviar la consulta"


def refresh_summary(
    outcomes: Mapping[int, RefreshOutcome], *, noun: tuple[str, str] = ("referido", "referidos")
) -> str:
    """'Se actualizarán 5 referidos; 2 se omitieron porque ya tenían una consulta en curso.'"""
    accepted = sum(1 for outcome in outcomes.values() if outcome.accepted)
    refused = Counter(outcome.refusal for outcome in outcomes.values() if not outcome.accepted)
    if accepted:
        verb = "Se actualizará" if accepted == 1 else "Se actualizarán"
        head = f"{verb} {_plural(accepted, noun)}"
    else:
        head = f"No se actualizó ningún {noun[0]}"
    if not refused:
        return f"{head}."
    parts = []
    for refusal, count in refused.most_common():
        verb = "se omitió" if count == 1 else "se omitieron"
        parts.append(f"{count} {verb} porque {_reason(refusal, count)}")
    if not accepted:
        return f"{head}: {'; '.join(parts)}."
    return f"{head}; {'; '.join(parts)}."
