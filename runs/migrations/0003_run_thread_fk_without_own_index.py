import django.db.models.deletion
from django.db import migrations, models

# Django's AlterField(db_index=False) drops every single-column index on thread_id, the
# partial unique index one_running_run_per_thread included, and does not recreate it:
# only the foreign key's own index is dropped here.
FK_INDEX = "runs_run_thread_id_e6b2f88b"


class Migration(migrations.Migration):

    dependencies = [
        ("runs", "0002_initial"),
        ("threads", "0002_checkpoint_delta_blobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{FK_INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{FK_INDEX}" ON "runs_run" ("thread_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="run",
                    name="thread",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="runs",
                        to="threads.thread",
                    ),
                ),
            ],
        ),
    ]
