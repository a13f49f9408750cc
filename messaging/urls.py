from django.urls import path

from chatsite import converters  # noqa: F401  (registers <id:...>)
from messaging import account_views, attachment_views, search_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", search_views.search, name="search"),
    path("account/delete/", account_views.account_delete, name="account-delete"),
    path("r/<id:room_id>/", views.room, name="room"),
    path("r/<id:room_id>/history/", views.history, name="room-history"),
    path("r/<id:room_id>/send/", views.send, name="room-send"),
    path("m/<id:message_id>/", views.message_detail, name="message"),
    path("m/<id:message_id>/react/", views.message_react, name="message-react"),
    path("m/<id:message_id>/edit/", views.message_edit, name="message-edit"),
    path("m/<id:message_id>/delete/", views.message_delete, name="message-delete"),
    path("m/<id:message_id>/report/", views.message_report, name="message-report"),
    path("m/<id:message_id>/thread/", views.message_thread, name="message-thread"),
    path("m/<id:message_id>/revisions/", views.message_revisions, name="message-revisions"),
    path(
        "files/<id:attachment_id>/thumb/", attachment_views.attachment_thumbnail, name="attachment-thumbnail"
    ),
    path("files/<id:attachment_id>/<str:name>", attachment_views.attachment, name="attachment"),
]
