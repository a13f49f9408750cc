from __future__ import annotations

from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    get_default_password_validators,
)
from rest_framework import serializers

from accounts.models import User, username_validator


def _password_min_length() -> int:
    """The shortest password AUTH_PASSWORD_VALIDATORS accept (registration checks them all)."""
    lengths = [
        v.min_length for v in get_default_password_validators() if isinstance(v, MinimumLengthValidator)
    ]
    return max(lengths, default=1)


class RegisterSerializer(serializers.Serializer):
    # The model's and the password validators' own rules, so the schema states them.
    username = serializers.CharField(
        max_length=User._meta.get_field("username").max_length, validators=[username_validator]
    )
    password = serializers.CharField(
        write_only=True, min_length=_password_min_length(), max_length=256, style={"input_type": "password"}
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=64)


class RegisteredSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]


class UserSearchSerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32, help_text="username prefix"
    )


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "display_name", "last_seen"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="An email address, or empty.")
    avatar = serializers.CharField(
        source="avatar_url", read_only=True, help_text="The picture's URL (256 px WebP), or empty."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "email",
            "theme",
            "time_zone",
            "clock",
            "avatar",
            "appear_offline",
            "send_read_receipts",
            "date_joined",
            "last_seen",
        ]
        read_only_fields = fields


class MeUpdateSerializer(serializers.Serializer):
    """The profile fields a user changes themselves; each is optional (PATCH)."""

    display_name = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=User._meta.get_field("display_name").max_length,
        help_text="Shown instead of the username; empty shows the username.",
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    theme = serializers.ChoiceField(choices=User.Theme.choices, required=False)
    time_zone = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="An IANA time zone (Europe/Paris) times are shown in; empty: the browser's.",
    )
    clock = serializers.ChoiceField(
        choices=User.Clock.choices, required=False, help_text="auto, 12 or 24 (hours)."
    )
    send_read_receipts = serializers.BooleanField(
        required=False,
        help_text="Others see how far you have read their messages ('seen'); off: they never do.",
    )
    appear_offline = serializers.BooleanField(
        required=False,
        help_text="Others see you offline, with your last seen frozen at the moment you chose it.",
    )


class AvatarUploadSerializer(serializers.Serializer):
    avatar = serializers.FileField(
        help_text="A JPEG, PNG, GIF or WebP picture of at most 10 MB and 40 megapixels."
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})
    new_password = serializers.CharField(
        write_only=True, min_length=_password_min_length(), max_length=256, style={"input_type": "password"}
    )


class TokenPairSerializer(serializers.Serializer):
    refresh = serializers.CharField(read_only=True)
    access = serializers.CharField(read_only=True)


class PasswordConfirmSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, max_length=256, style={"input_type": "password"})


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(read_only=True)
    expires_in = serializers.IntegerField(read_only=True)


class BlockCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, help_text="the id of the user to block")


class BlockSerializer(serializers.Serializer):
    users = serializers.ListField(child=serializers.IntegerField(), help_text="ids of the users you blocked")
