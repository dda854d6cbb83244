from django.urls import path, register_converter

from . import views


class ExportFormat:
    """csv, xlsx, pdf or json; any other extension is a 404."""

    regex = "csv|xlsx|pdf|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExportFormat, "format")

urlpatterns = [
    path("", views.home, name="home"),
    path("ping/", views.ping, name="ping"),
    path("reports/<slug:slug>/", views.dashboard, name="dashboard"),
    path("reports/<slug:slug>/source/", views.source, name="source"),
    path("reports/<slug:slug>/export.<format:extension>", views.export, name="export"),
    path("reports/<slug:slug>/snapshots/", views.snapshots, name="snapshots"),
    path("reports/<slug:slug>/snapshots/compare/", views.snapshot_compare, name="snapshot_compare"),
    path("reports/<slug:slug>/snapshots/<int:pk>/", views.snapshot_detail, name="snapshot"),
    path(
        "reports/<slug:slug>/snapshots/<int:pk>/export.<format:extension>",
        views.snapshot_export,
        name="snapshot_export",
    ),
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
