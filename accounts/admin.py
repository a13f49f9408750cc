from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import services
from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "is_active", "is_staff", "last_seen", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "last_seen")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    readonly_fields = ("last_seen", "date_joined", "last_login", "updated_at")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "theme")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Activity", {"fields": ("last_seen", "last_login", "date_joined", "updated_at")}),
    )
    actions = ["deactivate", "activate"]

    def save_model(self, request, obj, form, change):
        # Unticking "active" on the change form deactivates through the same service, so the
        # user's open sockets close just as with the list action.
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # let the service make (and announce) the change
        super().save_model(request, obj, form, change)
        if deactivating:
            services.users_deactivate(user_ids=[obj.pk], actor_id=request.user.pk)
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
