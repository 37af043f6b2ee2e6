from django.urls import path

from conversations import api

urlpatterns = [
    path("conversations", api.ConversationListApi.as_view(), name="api-conversations"),
    path("conversations/export", api.ConversationExportApi.as_view(), name="api-conversations-export"),
    path("conversations/<str:conversation_id>", api.ConversationDetailApi.as_view(), name="api-conversation"),
    path(
        "conversations/<str:conversation_id>/messages",
        api.ConversationMessagesApi.as_view(),
        name="api-conversation-messages",
    ),
    path(
        "conversations/<str:conversation_id>/health",
        api.ConversationHealthApi.as_view(),
        name="api-conversation-health",
    ),
    path(
        "conversations/<str:conversation_id>/failures",
        api.ConversationFailuresApi.as_view(),
        name="api-conversation-failures",
    ),
    path(
        "conversations/<str:conversation_id>/similar",
        api.ConversationSimilarApi.as_view(),
        name="api-conversation-similar",
    ),
    path("failures", api.FailureListApi.as_view(), name="api-failures"),
    path("failures/bulk-status", api.FailureBulkStatusApi.as_view(), name="api-failures-bulk-status"),
    path("failures/<str:failure_id>", api.FailureDetailApi.as_view(), name="api-failure"),
    path("saved-views", api.SavedViewListCreateApi.as_view(), name="api-saved-views"),
    path("saved-views/<str:view_id>", api.SavedViewDetailApi.as_view(), name="api-saved-view"),
]
