"""Display filters for member data: {% load portal %} then {{ value|cedula }}, {{ value|telefono }}."""

from django import forms, template
from django.forms import BoundField

from accounts.validators import format_cedula, format_telefono

register = template.Library()


@register.filter(name="cedula")
def cedula_filter(value: str) -> str:
    return format_cedula(str(value or ""))


@register.filter(name="telefono")
def telefono_filter(value: str) -> str:
    return format_telefono(str(value or ""))


@register.filter(name="bs_widget")
def bs_widget(field: BoundField) -> str:
    """Render a bound field's widget with Bootstrap classes and ARIA links to its help/errors."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    attrs = {"class": css}
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_help")
    if field.errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        described_by.append(f"{field.auto_id}_errors")
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)
