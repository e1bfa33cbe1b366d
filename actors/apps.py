from django.apps import AppConfig


class ActorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "actors"
    verbose_name = "Tareas en segundo plano"

    def ready(self) -> None:
        from actors import checks  # noqa: F401 (registers the system checks)
