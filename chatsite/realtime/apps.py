from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "chatsite.realtime"
    label = "realtime"
    verbose_name = "Real-time events"
    default_auto_field = "django.db.models.BigAutoField"
