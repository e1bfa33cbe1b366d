from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Cuentas y referidos"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the post_save receiver)
