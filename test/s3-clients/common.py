"""Shared by the S3 client scripts: a boto3 client for Coffer from the environment.

Environment: S3_URL (Coffer's S3 endpoint), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN (temporary credentials from `coffer s3 credentials`), BUCKET.
Each script prints one JSON object on stdout; the Node test asserts on it.
"""
import json
import os
import sys

import boto3
from botocore.config import Config


def client(signature_version=None):
    config = Config(signature_version=signature_version) if signature_version else None
    return boto3.client("s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1", config=config)


def bucket():
    return os.environ["BUCKET"]


def report(result):
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
