from django.contrib import admin

from chatsite.admin_base import ReadOnlyAdmin
from messaging.models import Attachment, Message


class AttachmentInline(admin.TabularInline):
    """A message's files, read-only (downloads stay members-only: no link here)."""

    model = Attachment
    fk_name = "message"
    extra = 0
    fields = ("name", "kind", "content_type", "size", "width", "height", "duration", "uploader", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "room", "sender", "short_body", "created_at", "edited_at", "deleted_at")
    list_filter = ("created_at", "room__kind")
    search_fields = ("body", "sender__username", "room__name")
    list_select_related = ("room", "sender")
    show_full_result_count = False  # COUNT(*) over millions of messages is slow
    inlines = [AttachmentInline]

    @admin.display(description="body")
    def short_body(self, obj: Message) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"
