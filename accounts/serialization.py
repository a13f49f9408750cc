"""JSON shapes of users, shared by REST, WebSocket frames, catch-up and templates."""

from __future__ import annotations

from typing import Any

from accounts.models import User


def user_brief(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}
