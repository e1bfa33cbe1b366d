# SchedulerRun moved to the actors app. State only: the table (accounts_schedulerrun)
# and its rows stay where they are; actors 0001 takes the model over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_cedulainfo_queue"),
        ("actors", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SchedulerRun")],
            database_operations=[],
        ),
    ]
