from __future__ import annotations

from rest_framework import serializers

from accounts.models import ModerationLogEntry
from accounts.services import REASON_MAX
from chatsite.validation import InvalidNumber, parse_id
from rooms.models import Membership, Room
from rooms.moderation import MUTE_MAX_MINUTES, ROLES_GRANTED
from rooms.services import DESCRIPTION_MAX, NAME_MAX, TOPIC_MAX


class RoomSerializer(serializers.ModelSerializer):
    # Every view gives the room its count (selectors annotate it), so it is never missing or null.
    member_count = serializers.IntegerField(read_only=True)
    is_group = serializers.BooleanField(
        read_only=True,
        help_text="A direct conversation people can be added to, leave and name (it started with 3+).",
    )

    class Meta:
        model = Room
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "topic",
            "kind",
            "is_group",
            "named",
            "created_at",
            "last_activity_at",
            "member_count",
            "read_only",
            "archived_at",
        ]
        read_only_fields = fields


class RoomUpdateSerializer(serializers.Serializer):
    """Room settings, each optional (PATCH); owners and admins only, any member of a group
    conversation (naming it)."""

    name = serializers.CharField(required=False, max_length=NAME_MAX, trim_whitespace=False)
    topic = serializers.CharField(
        required=False, allow_blank=True, max_length=TOPIC_MAX, trim_whitespace=False
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=DESCRIPTION_MAX, trim_whitespace=False
    )


class RoomListQuerySerializer(serializers.Serializer):
    public = serializers.BooleanField(
        required=False, default=False, help_text="browse public rooms, not mine"
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=NAME_MAX,
        help_text="with public: name contains",
    )


class RoomCreateSerializer(serializers.Serializer):
    # The service's own limits (it strips, as these fields do), so the schema states them.
    name = serializers.CharField(max_length=NAME_MAX)
    kind = serializers.ChoiceField(choices=[Room.Kind.PUBLIC, Room.Kind.PRIVATE], default=Room.Kind.PUBLIC)
    description = serializers.CharField(
        max_length=Room._meta.get_field("description").max_length,
        required=False,
        allow_blank=True,
        default="",
    )


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=64)


class MemberSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="user.id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "display_name", "role", "joined_at"]
        read_only_fields = fields


class MemberStateSerializer(MemberSerializer):
    """A member with their mute in this room (``muted_until`` null: not muted)."""

    muted_until = serializers.DateTimeField(
        source="mute.until", read_only=True, allow_null=True, default=None
    )
    mute_reason = serializers.CharField(source="mute.reason", read_only=True, default="")

    class Meta(MemberSerializer.Meta):
        fields = [*MemberSerializer.Meta.fields, "muted_until", "mute_reason"]
        read_only_fields = fields


class MuteSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(
        min_value=1, max_value=MUTE_MAX_MINUTES, help_text="how long, from 1 minute to a year"
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=REASON_MAX)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=list(ROLES_GRANTED), help_text="ownership moves by transfer")


class TransferSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, help_text="the member who becomes the owner")


class RoomModerateSerializer(serializers.Serializer):
    """Each optional: read_only (owners and admins), archived (owners)."""

    read_only = serializers.BooleanField(required=False, default=None, allow_null=True)
    archived = serializers.BooleanField(required=False, default=None, allow_null=True)


class ModerationLogEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)
    target_user = serializers.CharField(
        source="target_user.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ModerationLogEntry
        fields = [
            "id",
            "action",
            "actor",
            "target_user",
            "message_id",
            "reason",
            "interface",
            "detail",
            "created_at",
        ]
        read_only_fields = fields


class DirectSerializer(serializers.Serializer):
    usernames = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=20)


PRESENCE_USERS_MAX = 100


class PresenceQuerySerializer(serializers.Serializer):
    users = serializers.CharField(
        help_text=f"comma-separated user ids, at most {PRESENCE_USERS_MAX}",
        max_length=20 * PRESENCE_USERS_MAX,
    )

    def validate_users(self, value: str) -> list[int]:
        try:
            ids = [parse_id(part, label="users", minimum=1) for part in value.split(",")]
        except InvalidNumber as exc:
            raise serializers.ValidationError("users must be comma-separated user ids.") from exc
        if len(set(ids)) > PRESENCE_USERS_MAX:
            raise serializers.ValidationError(f"At most {PRESENCE_USERS_MAX} users at a time.")
        return sorted(set(ids))


class PresenceSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["online", "away", "offline"])
    last_seen = serializers.DateTimeField(
        allow_null=True,
        help_text="when a socket of theirs was last open (frozen while they appear offline)",
    )


class NotifySerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=Membership.Notify.choices,
        help_text="all: every message; mentions: mentions of you or @room (in a DM, every message); "
        "muted: nothing (unread still counts, quietly)",
    )
