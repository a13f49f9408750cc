"""Admin views of rooms. Changes go through services (events must be recorded), so the admin
shows rooms and memberships read-only; moderation actions call services."""

from django.contrib import admin

from chatsite.admin_base import ReadOnlyAdmin
from rooms import services
from rooms.models import Membership, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "joined_at", "notify", "last_read_message_id", "last_delivered_message_id")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "is_default", "slug", "created_by", "created_at", "last_activity_at")
    list_filter = ("kind", "is_default", "created_at")
    search_fields = ("name", "slug", "description")
    inlines = [MembershipInline]
    actions = ["make_default", "stop_default"]

    @admin.action(description="Make default rooms (new accounts join them; public rooms only)")
    def make_default(self, request, queryset):
        changed = services.rooms_set_default(
            room_ids=list(queryset.values_list("pk", flat=True)), is_default=True
        )
        self.message_user(request, f"{changed} room(s) are now default rooms.")

    @admin.action(description="Stop being default rooms")
    def stop_default(self, request, queryset):
        changed = services.rooms_set_default(
            room_ids=list(queryset.values_list("pk", flat=True)), is_default=False
        )
        self.message_user(request, f"{changed} room(s) are no longer default rooms.")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "room", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__username", "room__name")
    list_select_related = ("user", "room")
