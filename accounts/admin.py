from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import services
from accounts.models import ModerationLogEntry, User
from chatsite.admin_base import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "is_active", "is_staff", "last_seen", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "last_seen", "muted_until")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    # Presence and receipt settings are the person's own (their profile page or the API, whose
    # service tells the servers): shown here, not changed. A site-wide mute is set by the actions.
    readonly_fields = (
        "last_seen", "date_joined", "last_login", "updated_at", "appear_offline", "send_read_receipts",
        "muted_until", "mute_reason",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "theme")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Activity", {"fields": ("last_seen", "last_login", "date_joined", "updated_at")}),
        ("Presence and receipts", {"fields": ("appear_offline", "send_read_receipts")}),
        ("Site-wide mute", {"fields": ("muted_until", "mute_reason")}),
    )
    actions = ["deactivate", "activate"]

    def save_model(self, request, obj, form, change):
        # Unticking "active" on the change form deactivates through the same service, so the
        # user's open sockets close just as with the list action (and ticking it activates).
        toggled = change and "is_active" in form.changed_data
        activating, deactivating = toggled and obj.is_active, toggled and not obj.is_active
        if toggled:
            obj.is_active = not obj.is_active  # let the service make (and log) the change
        super().save_model(request, obj, form, change)
        if deactivating:
            services.users_deactivate(user_ids=[obj.pk], actor_id=request.user.pk)
        if activating:
            services.users_activate(user_ids=[obj.pk], actor=request.user, via="admin")
        if toggled:
            obj.refresh_from_db(fields=["is_active"])

    @admin.action(description="Deactivate selected users (they can no longer log in; open chats close)")
    def deactivate(self, request, queryset):
        updated = services.users_deactivate(
            user_ids=list(queryset.values_list("pk", flat=True)), actor_id=request.user.pk
        )
        self.message_user(request, f"Deactivated {updated} user(s).")

    @admin.action(description="Activate selected users")
    def activate(self, request, queryset):
        updated = services.users_activate(
            user_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, via="admin"
        )
        self.message_user(request, f"Activated {updated} user(s).")


@admin.register(ModerationLogEntry)
class ModerationLogEntryAdmin(ReadOnlyAdmin):
    """The moderation log: append-only, so read-only here for everyone, superusers too."""

    list_display = (
        "created_at",
        "actor",
        "action",
        "target_user",
        "room_id",
        "message_id",
        "reason",
        "interface",
    )
    list_filter = ("action", "interface", "created_at")
    search_fields = ("actor__username", "target_user__username", "reason")
    list_select_related = ("actor", "target_user")
    ordering = ("-id",)
