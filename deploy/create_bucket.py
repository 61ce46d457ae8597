"""Create the uploads bucket when it is missing (the compose service ``createbucket``).

Reads the same variables as the application's storage settings: AWS_STORAGE_BUCKET_NAME,
S3_ENDPOINT_URL, S3_REGION_NAME and boto3's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

import os
import sys

import boto3
from botocore.exceptions import ClientError


def main() -> int:
    bucket = os.environ["AWS_STORAGE_BUCKET_NAME"]
    client = boto3.client(
        "s3",
        endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        region_name=os.environ.get("S3_REGION_NAME") or None,
    )
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        client.create_bucket(Bucket=bucket)
        print(f"created bucket {bucket}")
    else:
        print(f"bucket {bucket} exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
