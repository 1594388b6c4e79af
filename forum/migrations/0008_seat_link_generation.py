from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("forum", "0007_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="seat",
            name="link_generation",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
