"""Admin of messages and the report queue. Messages change only through services; moderators
act on reports through ``messaging.reports`` (each action asks for a reason, and needs the
``messaging.moderate_messagereport`` permission: staff status alone shows, never acts)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from accounts.services import REASON_MAX, SITE_MUTE_MAX_MINUTES
from chatsite.admin_base import ReadOnlyAdmin
from chatsite.exceptions import DomainError
from messaging import reports
from messaging.models import Attachment, Message, MessageReport
from messaging.selectors import message_context

MUTE_CHOICES = [(60, "1 hour"), (24 * 60, "1 day"), (7 * 24 * 60, "1 week"), (30 * 24 * 60, "30 days")]


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
    list_filter = ("created_at", "room__kind", ("deleted_at", admin.EmptyFieldListFilter), "room")
    search_fields = ("body", "sender__username", "room__name")
    list_select_related = ("room", "sender")
    show_full_result_count = False  # COUNT(*) over millions of messages is slow
    inlines = [AttachmentInline]

    @admin.display(description="body")
    def short_body(self, obj: Message) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"


class ModerationForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX, help_text="Required; kept in the moderation log.")


class MuteForm(ModerationForm):
    minutes = forms.TypedChoiceField(choices=MUTE_CHOICES, coerce=int, label="Mute for")

    def clean_minutes(self) -> int:
        minutes = self.cleaned_data["minutes"]
        if not 1 <= minutes <= SITE_MUTE_MAX_MINUTES:
            raise forms.ValidationError("At most a year.")
        return minutes


@admin.register(MessageReport)
class MessageReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "status", "reason", "excerpt", "room", "reported_user", "reporter")
    list_filter = ("status", "reason", "created_at")
    search_fields = ("message__body", "message__sender__username", "reporter__username", "note")
    list_select_related = ("message__room", "message__sender", "reporter")
    ordering = ("-id",)
    fields = (
        "status",
        "reason",
        "note",
        "reporter",
        "reported_user",
        "room",
        "context",
        "created_at",
        "resolved_by",
        "resolved_at",
    )
    readonly_fields = fields
    actions = ["dismiss", "delete_messages", "mute_authors", "ban_authors"]

    def has_moderate_permission(self, request) -> bool:
        return request.user.has_perm("messaging.moderate_messagereport")

    @admin.display(description="message")
    def excerpt(self, obj: MessageReport) -> str:
        body = obj.message.body
        return "(deleted)" if obj.message.deleted_at else (body if len(body) <= 60 else body[:59] + "…")

    @admin.display(description="reported user")
    def reported_user(self, obj: MessageReport) -> object:
        return obj.message.sender

    @admin.display(description="room")
    def room(self, obj: MessageReport) -> object:
        return obj.message.room

    @admin.display(description="message in context")
    def context(self, obj: MessageReport) -> str:
        rows = format_html_join(
            "",
            "<li{}><strong>{}</strong> <small>{:%Y-%m-%d %H:%M}</small><br>{}</li>",
            (
                (
                    format_html(
                        ' style="{}"', "font-weight:bold;border-left:3px solid #b42318;padding-left:.4rem"
                    )
                    if m.id == obj.message_id
                    else "",
                    m.sender.username if m.sender else "(deleted user)",
                    m.created_at,
                    "(deleted)" if m.deleted_at else m.body,
                )
                for m in message_context(message_id=obj.message_id)
            ),
        )
        return format_html('<ol class="report-context" style="list-style:none;padding:0">{}</ol>', rows)

    def _act(
        self,
        request,
        queryset,
        *,
        title: str,
        form_class: type[ModerationForm],
        run: Callable[..., int],
        done: str,
    ):
        """An action that asks for its reason (and length) on an intermediate page, then runs."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            ids = list(queryset.values_list("pk", flat=True))
            try:
                count = run(actor=request.user, report_ids=ids, via="admin", **form.cleaned_data)
            except DomainError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
                return None
            self.message_user(request, done.format(count=count))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "reports": queryset.select_related("message__sender", "message__room"),
            "action": request.POST.get("action"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/messaging/moderation_action.html", context)

    @admin.action(description="Dismiss selected reports", permissions=["moderate"])
    def dismiss(self, request, queryset):
        return self._act(
            request,
            queryset,
            title="Dismiss reports",
            form_class=ModerationForm,
            run=reports.reports_dismiss,
            done="Dismissed {count} report(s).",
        )

    @admin.action(description="Delete the reported messages", permissions=["moderate"])
    def delete_messages(self, request, queryset):
        return self._act(
            request,
            queryset,
            title="Delete the reported messages",
            form_class=ModerationForm,
            run=reports.reports_delete_messages,
            done="Deleted {count} message(s).",
        )

    @admin.action(description="Mute the authors site-wide", permissions=["moderate"])
    def mute_authors(self, request, queryset):
        return self._act(
            request,
            queryset,
            title="Mute the authors site-wide",
            form_class=MuteForm,
            run=reports.reports_mute_authors,
            done="Muted {count} account(s).",
        )

    @admin.action(description="Ban the authors (deactivate; their chats close)", permissions=["moderate"])
    def ban_authors(self, request, queryset):
        return self._act(
            request,
            queryset,
            title="Ban the authors",
            form_class=ModerationForm,
            run=reports.reports_ban_authors,
            done="Banned {count} account(s).",
        )
