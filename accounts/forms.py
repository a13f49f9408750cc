from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import User
from accounts.services import time_zones


def new_password_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class NewPasswordTwiceForm(forms.Form):
    """A new password typed twice: ``<prefix>password1`` and ``<prefix>password2`` must match."""

    password_prefix = ""

    def clean(self) -> dict:
        data = super().clean()
        first, second = f"{self.password_prefix}password1", f"{self.password_prefix}password2"
        if data.get(first) and data.get(first) != data.get(second):
            self.add_error(second, "The two passwords differ.")
        return data


class RegisterForm(NewPasswordTwiceForm):
    username = forms.CharField(max_length=32, help_text="3–32 characters: letters, digits, _ . -")
    email = forms.EmailField(required=False, help_text="Optional.")
    password1 = new_password_field("Password")
    password2 = new_password_field("Password again")


class LoginForm(AuthenticationForm):
    username = forms.CharField(max_length=32, widget=forms.TextInput(attrs={"autofocus": True}))

    class Meta:
        model = User


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        required=False,
        strip=False,  # accounts.services.clean_display_name is the one rule
        max_length=User._meta.get_field("display_name").max_length,
        help_text="Shown instead of your username. Leave empty to show your username.",
    )
    email = forms.EmailField(required=False, help_text="Used only to reset a forgotten password.")
    time_zone = forms.ChoiceField(
        required=False,
        help_text="Times of messages are shown in this zone. Automatic: your browser's.",
    )
    clock = forms.ChoiceField(choices=User.Clock.choices, label="Clock", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", "Automatic")] + [(z, z) for z in sorted(time_zones())]

    send_read_receipts = forms.BooleanField(
        required=False,
        label="Send read receipts",
        help_text="Others see when you have read their messages. Your own unread counts work either way.",
    )
    appear_offline = forms.BooleanField(
        required=False,
        label="Appear offline",
        help_text="Others see you as offline, with your last seen frozen at the moment you turn this on.",
    )


class PasswordChangeForm(NewPasswordTwiceForm):
    password_prefix = "new_"
    old_password = forms.CharField(
        label="Current password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = new_password_field("New password")
    new_password2 = new_password_field("New password again")


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="To confirm it is you.",
    )
