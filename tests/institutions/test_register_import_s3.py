"""The register upload on an S3-compatible bucket, as compose runs it on MinIO: stored by
one process through django-storages and read back by name, against a local S3 server
(moto's, started here; skips without it)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from institutions.models import Institution, RegisterImport
from institutions.register_import import register_import_upload
from tests.factories import UserFactory
from tests.institutions.test_gias_reader import good_row, make_csv

moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.django_db

BUCKET = "matmis-uploads-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket_storage(s3_endpoint, settings, monkeypatch, tmp_path):
    """The default storage as matmis.settings configures it with AWS_STORAGE_BUCKET_NAME and
    S3_ENDPOINT_URL set (tests/foundation/test_deploy_settings.py checks that part)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
                "location": "",
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_an_upload_lands_in_the_bucket_and_the_import_reads_it_from_there(
    bucket_storage, django_capture_on_commit_callbacks, settings
):
    data = make_csv([good_row(URN="100011"), good_row(URN="100012")])
    upload = SimpleUploadedFile("edubasealldata.csv", data, content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        record = register_import_upload(upload=upload, uploaded_by=UserFactory(is_staff=True))

    record.refresh_from_db()
    assert record.status == RegisterImport.State.DONE, record.error
    assert Institution.objects.filter(urn__in=["100011", "100012"]).count() == 2
    keys = [item["Key"] for item in bucket_storage.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [record.file.name]
    stored = bucket_storage.get_object(Bucket=BUCKET, Key=record.file.name)["Body"].read()
    assert stored == data
    assert type(default_storage._wrapped).__name__ == "S3Storage"
    assert not settings.MEDIA_ROOT.exists()  # nothing on the local disk


def test_the_compose_bucket_service_creates_the_bucket_once(s3_endpoint):
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "AWS_STORAGE_BUCKET_NAME": "matmis-created-by-compose",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
    }
    outputs = [
        subprocess.run(
            [sys.executable, "deploy/create_bucket.py"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert outputs == [
        "created bucket matmis-created-by-compose",
        "bucket matmis-created-by-compose exists",
    ]
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    assert "matmis-created-by-compose" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    client.delete_bucket(Bucket="matmis-created-by-compose")
