# SchedulerRun, moved from accounts (accounts 0003 drops it from that app's state).
# State only: the table created by accounts 0001 is kept with its rows and its name.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0002_cedulainfo_queue"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SchedulerRun",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("job", models.CharField(max_length=50, verbose_name="tarea")),
                        ("period", models.CharField(max_length=40, verbose_name="periodo")),
                        ("claimed_by", models.CharField(max_length=120, verbose_name="tomada por")),
                        ("started_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="inicio")),
                        ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="fin")),
                        ("selected", models.PositiveIntegerField(default=0, verbose_name="seleccionadas")),
                        ("sent", models.PositiveIntegerField(default=0, verbose_name="enviadas")),
                        ("skipped", models.PositiveIntegerField(default=0, verbose_name="omitidas")),
                    ],
                    options={
                        "verbose_name": "ejecución programada",
                        "verbose_name_plural": "ejecuciones programadas",
                        "db_table": "accounts_schedulerrun",
                        "constraints": [
                            models.UniqueConstraint(fields=("job", "period"), name="unique_scheduler_run_per_period")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
