from django.urls import path

from chatsite import converters  # noqa: F401  (registers <id:...>)
from messaging import api

urlpatterns = [
    path("rooms/<id:room_id>/messages/", api.MessageListView.as_view(), name="api-messages"),
]
