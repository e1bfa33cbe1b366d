"""Masking of personal data for logs: a cédula or phone never appears in full."""


def mask_cedula(value: object) -> str:
    """Return ``value`` with all but its last three characters replaced by ``*``.

    Short or empty values are fully masked so nothing identifying leaks.
    """
    text = "" if value is None else str(value)
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 3) + text[-3:]


mask_phone = mask_cedula
