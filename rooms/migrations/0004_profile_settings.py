from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rooms", "0003_room_default_and_topic")]

    operations = [
        migrations.AddField(model_name="room", name="named", field=models.BooleanField(default=False)),
    ]
