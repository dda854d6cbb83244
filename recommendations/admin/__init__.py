"""The coordinators' admin, one module per area; importing them registers their model admins
(Django autodiscovers this package)."""

from . import chapter_import, evidence, mail, people, positions, reports, snapshots

__all__ = ["chapter_import", "evidence", "mail", "people", "positions", "reports", "snapshots"]
