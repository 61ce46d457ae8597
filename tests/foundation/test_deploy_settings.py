"""Settings the deployment relies on (issue 19): uploads on object storage when a bucket is
configured, the filesystem otherwise; X-Forwarded-Proto trusted only behind a proxy."""

import json

from tests.foundation.test_settings import PRODUCTION, run_django

PROBE = """
import json
from django.conf import settings
from django.core.files.storage import default_storage
default_storage._setup()
storage = default_storage._wrapped
print(json.dumps({
    "backend": type(storage).__module__ + "." + type(storage).__name__,
    "bucket": getattr(storage, "bucket_name", None),
    "endpoint": getattr(storage, "endpoint_url", None),
    "addressing": getattr(storage, "addressing_style", None),
    "location": str(getattr(storage, "location", "")),
    "media_root": str(settings.MEDIA_ROOT),
    "proxy_ssl_header": settings.SECURE_PROXY_SSL_HEADER,
}))
"""


def probe(**env: str) -> dict:
    result = run_django(["shell", "--no-imports", "-c", PROBE], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_uploads_are_files_under_the_data_folder_by_default():
    answer = probe()
    assert answer["backend"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert answer["location"].endswith("/.data/media")
    assert answer["location"] == answer["media_root"]


def test_uploads_go_to_the_bucket_when_one_is_configured():
    answer = probe(
        AWS_STORAGE_BUCKET_NAME="matmis-uploads",
        S3_ENDPOINT_URL="http://minio:9000",
        AWS_ACCESS_KEY_ID="key",
        AWS_SECRET_ACCESS_KEY="secret",
    )
    assert answer["backend"] == "storages.backends.s3.S3Storage"
    assert answer["bucket"] == "matmis-uploads"
    assert answer["endpoint"] == "http://minio:9000"
    assert answer["addressing"] == "path"


def test_the_forwarded_scheme_is_trusted_only_behind_a_proxy():
    assert probe(**PRODUCTION)["proxy_ssl_header"] is None
    assert probe(**PRODUCTION, MATMIS_TRUSTED_PROXIES="1")["proxy_ssl_header"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]
    assert probe(MATMIS_TRUSTED_PROXIES="1")["proxy_ssl_header"] is None  # development


REDIRECT_PROBE = """
import json
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory
middleware = SecurityMiddleware(lambda request: HttpResponse())
def redirected(path):
    request = RequestFactory().get(path, HTTP_HOST="matmis.example")
    return middleware.process_request(request) is not None
print(json.dumps({"healthz": redirected("/healthz"), "sign_in": redirected("/sign-in/")}))
"""


def test_the_liveness_probe_answers_over_plain_http_inside_the_stack():
    # The compose health checks reach it over HTTP through the proxy's internal listener.
    result = run_django(["shell", "--no-imports", "-c", REDIRECT_PROBE], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "healthz": False,
        "sign_in": True,
    }
