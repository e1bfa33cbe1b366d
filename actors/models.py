"""The scheduler's own records (the census data belongs to accounts)."""

from django.db import models
from django.utils import timezone


class SchedulerRun(models.Model):
    """A claim on one run of a scheduled job for one period.

    The unique (job, period) pair makes the claim atomic across any number of
    scheduler processes: whoever inserts first runs the job, the rest skip it.
    """

    job = models.CharField("tarea", max_length=50)
    period = models.CharField("periodo", max_length=40)
    claimed_by = models.CharField("tomada por", max_length=120)
    started_at = models.DateTimeField("inicio", default=timezone.now)
    finished_at = models.DateTimeField("fin", null=True, blank=True)
    selected = models.PositiveIntegerField("seleccionadas", default=0)
    sent = models.PositiveIntegerField("enviadas", default=0)
    skipped = models.PositiveIntegerField("omitidas", default=0)

    class Meta:
        # The table keeps the name it had when the model lived in accounts: moving
        # the model between apps changed no data (see actors/migrations/0001).
        db_table = "accounts_schedulerrun"
        verbose_name = "ejecución programada"
        verbose_name_plural = "ejecuciones programadas"
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="unique_scheduler_run_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.period}"
