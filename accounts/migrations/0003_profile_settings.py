from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_username_prefix_index")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="avatar",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="user", name="time_zone", field=models.CharField(blank=True, max_length=64)
        ),
        migrations.AddField(
            model_name="user",
            name="clock",
            field=models.CharField(
                choices=[
                    ("auto", "As my browser shows it"),
                    ("12", "12-hour (2:05 PM)"),
                    ("24", "24-hour (14:05)"),
                ],
                default="auto",
                max_length=4,
            ),
        ),
    ]
