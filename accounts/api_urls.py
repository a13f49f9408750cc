from django.urls import path

from accounts import api
from chatsite import converters  # noqa: F401  (registers <id:...>)

urlpatterns = [
    path("auth/token/", api.ThrottledTokenObtainPairView.as_view(), name="api-token"),
    path("auth/token/refresh/", api.RotatingTokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", api.LogoutView.as_view(), name="api-logout"),
    path("auth/me/", api.MeView.as_view(), name="api-me"),
    path("auth/me/avatar/", api.AvatarView.as_view(), name="api-avatar"),
    path("auth/password/", api.PasswordChangeView.as_view(), name="api-password"),
    path("auth/ws-ticket/", api.WsTicketView.as_view(), name="api-ws-ticket"),
    path("users/", api.UserListView.as_view(), name="api-users"),
    path("blocks/", api.BlockListView.as_view(), name="api-blocks"),
    path("blocks/<id:user_id>/", api.BlockDetailView.as_view(), name="api-block"),
]
