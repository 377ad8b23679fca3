import harness
import mock_server


def test_exported_members_are_exactly_the_public_api():
    public = {name for name in dir(harness) if not name.startswith("_") and name != "annotations"}
    modules = {name for name in public if type(getattr(harness, name)).__name__ == "module"}
    assert public - modules == set(harness.__all__)
    assert mock_server.__all__ == ["create_app", "create_engine"]


def test_importing_the_plugin_does_not_import_heavy_dependencies():
    import subprocess
    import sys

    heavy = ("flask", "schemathesis", "hypothesis", "vcr")
    code = f"import sys, harness.pytest_plugin; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
