from django.urls import path

from chatsite import converters  # noqa: F401  (registers <id:...>)
from messaging import api

urlpatterns = [
    path("rooms/<id:room_id>/messages/", api.MessageListView.as_view(), name="api-messages"),
    path("rooms/<id:room_id>/attachments/", api.AttachmentUploadView.as_view(), name="api-attachments"),
    path("rooms/<id:room_id>/read/", api.ReadMarkView.as_view(), name="api-room-read"),
    path("rooms/<id:room_id>/delivered/", api.DeliveredMarkView.as_view(), name="api-room-delivered"),
    path("rooms/<id:room_id>/typing/", api.TypingView.as_view(), name="api-room-typing"),
    path("rooms/<id:room_id>/receipts/", api.ReceiptsView.as_view(), name="api-room-receipts"),
    path("auth/me/delete/", api.AccountDeleteView.as_view(), name="api-account-delete"),
    path("unread/", api.UnreadListView.as_view(), name="api-unread"),
    path("messages/<id:message_id>/", api.MessageDetailView.as_view(), name="api-message"),
    path("messages/<id:message_id>/reactions/", api.ReactionView.as_view(), name="api-message-reactions"),
    path("messages/<id:message_id>/report/", api.ReportView.as_view(), name="api-message-report"),
    path("messages/<id:message_id>/thread/", api.ThreadView.as_view(), name="api-message-thread"),
    path("search/messages/", api.MessageSearchView.as_view(), name="api-search-messages"),
    path("messages/<id:message_id>/revisions/", api.RevisionListView.as_view(), name="api-message-revisions"),
]
