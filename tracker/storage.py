from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed files from `collectstatic` (production). Before collectstatic has
    ever run there is no manifest (development, tests): then plain names, not an error on every
    page. Once a manifest exists, a file missing from it is an error as usual."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
