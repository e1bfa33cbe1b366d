"""Links that keep the filters of Referidos and Territorio: {% load network %}."""

from urllib.parse import quote

from django import template
from django.utils.html import format_html

from accounts.selectors.network import Outcome, level_label, outcome_of
from accounts.views.network_params import place_param, query_string

register = template.Library()

# The badge colours of the network's five outcomes; templatetags/cedula.py colours the
# census card's eleven states. Two vocabularies, so two maps (a shape alike, no rule shared).
OUTCOME_BADGES = {
    Outcome.CAN_VOTE: "text-bg-success",
    Outcome.NOT_REGISTERED: "text-bg-warning",
    Outcome.CANCELLED: "text-bg-dark",
    Outcome.PENDING: "text-bg-info",
    Outcome.UNKNOWN: "text-bg-secondary",
}


@register.simple_tag(takes_context=True)
def with_params(context, **changes) -> str:
    """The current query string with ``changes`` applied, starting with "?"."""
    return "?" + query_string(context["request"].GET, **changes)


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str) -> str:
    """A column header link that sorts by ``key``, toggling the direction when already sorted."""
    current = context.get("sort", "")
    ascending = current == key
    target = f"-{key}" if ascending else key
    arrow = " ▲" if ascending else (" ▼" if current == f"-{key}" else "")
    url = "?" + query_string(context["request"].GET, orden=target)
    aria = "ascending" if ascending else ("descending" if current == f"-{key}" else "none")
    return format_html(
        '<a href="{}" hx-get="{}" hx-target="#referrals-results" hx-push-url="true" '
        'data-sort="{}" aria-sort="{}">{}{}</a>',
        url,
        url,
        key,
        aria,
        label,
        arrow,
    )


@register.filter
def outcome_badge(outcome: str) -> str:
    return OUTCOME_BADGES.get(outcome, "text-bg-secondary")


@register.filter
def outcome_label(outcome: str) -> str:
    return Outcome.LABELS.get(outcome, outcome)


@register.filter
def member_outcome(member) -> str:
    info = getattr(member, "cedula_info", None)
    return outcome_of(status=info.status if info else None, result_status=info.result_status if info else "")


@register.filter
def depth_label(depth: int) -> str:
    return level_label(int(depth))


@register.filter
def place_value(value: str) -> str:
    return place_param(value)


@register.filter
def whatsapp_phone(telefono: str) -> str:
    """The wa.me click-to-chat link for a Colombian mobile number ("" for landlines)."""
    digits = "".join(ch for ch in str(telefono or "") if ch.isdigit())
    if len(digits) == 10 and digits.startswith("3"):
        return f"https://wa.me/57{digits}"
    return ""


@register.filter
def whatsapp_share(text: str) -> str:
    return f"https://wa.me/?text={quote(str(text), safe='')}"
