from django.contrib import admin

from chatsite.admin_base import ReadOnlyAdmin
from chatsite.realtime.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "type", "room_id", "subject", "object_id", "created_at")
    list_filter = ("type",)
    list_select_related = ("subject",)
    show_full_result_count = False
