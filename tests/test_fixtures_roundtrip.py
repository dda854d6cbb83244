from django.core.management import CommandError, call_command

from recommendations.models import Recommendation

from .conftest import FIXTURES, ROOT


def test_load_then_export_reproduces_the_committed_files_byte_for_byte(norway, tmp_path):
    call_command("export_fixtures", output_dir=tmp_path, verbosity=0)
    for name in FIXTURES:
        assert (tmp_path / name).read_bytes() == (ROOT / "fixtures" / name).read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FIXTURES)


def test_export_is_utf8_without_escapes(norway, tmp_path):
    call_command("export_fixtures", output_dir=tmp_path, verbosity=0)
    content = (tmp_path / "norway-2024.json").read_text(encoding="utf-8")
    assert "Øst Police District" in content
    assert "“pimping,”" in content
    assert "\\u" not in content


def test_check_mode_notices_an_admin_edit(norway, tmp_path):
    call_command("export_fixtures", output_dir=tmp_path, verbosity=0)
    call_command("export_fixtures", output_dir=tmp_path, check=True, verbosity=0)
    Recommendation.objects.filter(number=3).update(short_title="Edited in admin")
    try:
        call_command("export_fixtures", output_dir=tmp_path, check=True, verbosity=0)
    except CommandError as error:
        assert "norway-2024.json" in str(error)
    else:
        raise AssertionError("--check passed although the database changed")
    call_command("export_fixtures", output_dir=tmp_path, verbosity=0)
    assert "Edited in admin" in (tmp_path / "norway-2024.json").read_text(encoding="utf-8")
