from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import User


class RegisterForm(forms.Form):
    username = forms.CharField(max_length=32, help_text="3–32 characters: letters, digits, _ . -")
    email = forms.EmailField(required=False, help_text="Optional.")
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class LoginForm(AuthenticationForm):
    username = forms.CharField(max_length=32, widget=forms.TextInput(attrs={"autofocus": True}))

    class Meta:
        model = User
