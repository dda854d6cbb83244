from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/<slug:slug>/", views.dashboard, name="dashboard"),
    path("reports/<slug:slug>/source/", views.source, name="source"),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/",
        views.recommendation_detail,
        name="recommendation",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/assess/",
        views.assess,
        name="assess",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/comments/",
        views.add_comment,
        name="comment",
    ),
]
