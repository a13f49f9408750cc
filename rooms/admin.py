"""Admin views of rooms. Changes go through services (events must be recorded), so the admin
shows rooms and memberships read-only; moderation actions call services."""

from django.contrib import admin
from django.db.models import Count, Q

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


# A one-to-one conversation's key is its two ids ("3,8"); a group's is more ids, or "group:<id>".
ONE_TO_ONE = Q(kind=Room.Kind.DIRECT, direct_key__regex=r"^[0-9]+,[0-9]+$")


class ConversationFilter(admin.SimpleListFilter):
    title = "conversation"
    parameter_name = "conversation"

    def lookups(self, request, model_admin):
        return [("one_to_one", "One-to-one"), ("group", "Group")]

    def queryset(self, request, queryset):
        if self.value() == "one_to_one":
            return queryset.filter(ONE_TO_ONE)
        if self.value() == "group":
            return queryset.filter(kind=Room.Kind.DIRECT).exclude(ONE_TO_ONE)
        return queryset


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "kind",
        "conversation",
        "people",
        "is_default",
        "slug",
        "created_by",
        "created_at",
        "last_activity_at",
    )
    list_filter = ("kind", ConversationFilter, "is_default", "created_at")
    search_fields = ("name", "slug", "description")
    inlines = [MembershipInline]
    actions = ["make_default", "stop_default"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(people_count=Count("memberships"))

    @admin.display(description="people", ordering="people_count")
    def people(self, obj: Room) -> int:
        return obj.people_count

    @admin.display(description="conversation")
    def conversation(self, obj: Room) -> str:
        if not obj.is_direct:
            return ""
        return f"group{' (named)' if obj.named else ''}" if obj.is_group else "one-to-one"

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
