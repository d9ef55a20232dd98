"""`make package` output and its size guard (the serverless "disk < 10%"), `make deploy` commands."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from chalicelib import resources
from infra import deploy
from infra import package as packaging


def test_packaged_code_is_under_the_size_alert(build_dir: Path) -> None:
    for stage in resources.DEPLOYED_STAGES:
        zip_path = build_dir / stage / "deployment.zip"
        size = packaging.check_package_size(zip_path)
        assert 0 < size <= packaging.PACKAGE_SIZE_ALERT_RATIO * packaging.LAMBDA_UNZIPPED_LIMIT_BYTES
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
        assert {"app.py", "chalicelib/resources.py"} <= names


def test_package_ships_powertools_but_not_what_the_runtime_provides(build_dir: Path) -> None:
    for stage in resources.DEPLOYED_STAGES:
        with zipfile.ZipFile(build_dir / stage / "deployment.zip") as archive:
            tops = {name.split("/", 1)[0] for name in archive.namelist()}
        assert {"aws_lambda_powertools", "aws_xray_sdk", "chalicelib"} <= tops
        assert not [top for top in tops if packaging.is_runtime_provided(top)], tops


def test_size_guard_refuses_a_package_over_the_alert_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", b"\0" * 10_000)
    monkeypatch.setattr(packaging, "LAMBDA_UNZIPPED_LIMIT_BYTES", 10_000)
    with pytest.raises(SystemExit, match="over 90%"):
        packaging.check_package_size(zip_path)
    monkeypatch.setattr(packaging, "LAMBDA_UNZIPPED_LIMIT_BYTES", 20_000)
    assert packaging.check_package_size(zip_path) == 10_000


def test_merge_template_is_written_next_to_the_output(build_dir: Path) -> None:
    for stage in resources.DEPLOYED_STAGES:
        assert packaging.merge_template_path(stage, build_dir).exists()


def test_deploy_commands() -> None:
    upload, stack = deploy.deploy_commands("prod", "artifacts-bucket", "ops@example.com")
    assert upload[:3] == ["aws", "cloudformation", "package"]
    assert upload[upload.index("--s3-bucket") + 1] == "artifacts-bucket"
    assert stack[:3] == ["aws", "cloudformation", "deploy"]
    assert stack[stack.index("--stack-name") + 1] == f"{resources.SERVICE}-prod"
    assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(stack)
    assert "AlarmEmail=ops@example.com" in stack
    assert upload[upload.index("--output-template-file") + 1] == stack[stack.index("--template-file") + 1]
