from django.urls import path, register_converter

from .views import (
    changes,
    curation,
    dashboard,
    exports,
    following,
    public,
    recommendation,
    site,
    snapshots,
    source,
    submission,
    unsubscribe,
)


class ExportFormat:
    """csv, xlsx, pdf or json; any other extension is a 404."""

    regex = "csv|xlsx|pdf|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExportFormat, "format")


class SubmissionFormat(ExportFormat):
    """docx or json."""

    regex = "docx|json"


register_converter(SubmissionFormat, "submission_format")


class Sha256(ExportFormat):
    """A SHA-256 in lowercase hex: a public snapshot's address."""

    regex = "[0-9a-f]{64}"


register_converter(Sha256, "sha256")


class PublicFormat(ExportFormat):
    """What a public snapshot downloads as: json (as made public), csv or pdf."""

    regex = "json|csv|pdf"


register_converter(PublicFormat, "public_format")

urlpatterns = [
    path("", site.home, name="home"),
    path("ping/", site.ping, name="ping"),
    path("language/", site.set_language, name="set_language"),
    path("status.css", site.status_stylesheet, name="status_stylesheet"),
    path("reports/", site.reports, name="reports"),
    path("reports/<slug:slug>/", dashboard.dashboard, name="dashboard"),
    path("reports/<slug:slug>/source/", source.source, name="source"),
    path("reports/<slug:slug>/source/quote/", curation.quote_passage, name="quote_passage"),
    path(
        "reports/<slug:slug>/source/evidence/<int:pk>/",
        curation.evidence_panel,
        name="evidence_panel",
    ),
    path("reports/<slug:slug>/evidence/", curation.evidence_workspace, name="evidence_workspace"),
    path("reports/<slug:slug>/evidence/accept/", curation.accept_proposal, name="accept_proposal"),
    path(
        "reports/<slug:slug>/evidence/accept-verbatim/",
        curation.accept_verbatim,
        name="accept_verbatim",
    ),
    path("reports/<slug:slug>/evidence/decline/", curation.decline_carry, name="decline_carry"),
    path("reports/<slug:slug>/changes/", changes.changes, name="changes"),
    path("reports/<slug:slug>/export.<format:extension>", exports.export, name="export"),
    path(
        "reports/<slug:slug>/submission.<submission_format:extension>",
        submission.submission,
        name="submission",
    ),
    path("reports/<slug:slug>/snapshots/", snapshots.snapshots, name="snapshots"),
    path(
        "reports/<slug:slug>/snapshots/compare/",
        snapshots.snapshot_compare,
        name="snapshot_compare",
    ),
    path("reports/<slug:slug>/snapshots/<int:pk>/", snapshots.snapshot_detail, name="snapshot"),
    path(
        "reports/<slug:slug>/snapshots/<int:pk>/public/",
        snapshots.snapshot_public,
        name="snapshot_public",
    ),
    path(
        "reports/<slug:slug>/snapshots/<int:pk>/export.<format:extension>",
        exports.snapshot_export,
        name="snapshot_export",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/",
        recommendation.recommendation_detail,
        name="recommendation",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/assess/",
        recommendation.assess,
        name="assess",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/comments/",
        recommendation.add_comment,
        name="comment",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/follow/",
        following.follow,
        name="follow",
    ),
    path(
        "reports/<slug:slug>/recommendations/<int:number>/carry-forward/",
        changes.carry_forward,
        name="carry_forward",
    ),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    # Readable by anyone, without a log-in (recommendations/views/public.py).
    path("robots.txt", public.robots_txt, name="robots_txt"),
    path("public/", public.index, name="public_index"),
    path("public/feed/", public.feed, name="public_feed"),
    path("public/snapshots/<sha256:sha>/", public.snapshot, name="public_snapshot"),
    path(
        "public/snapshots/<sha256:sha>/export.<public_format:extension>",
        public.snapshot_export,
        name="public_snapshot_export",
    ),
    path("public/<str:country>/<int:year>/", public.report, name="public_report"),
    path("public/<str:country>/<int:year>/feed/", public.feed, name="public_report_feed"),
]
