"""A DVC-shaped workload: a content-addressed cache (files/md5/<2 hex>/<30 hex>) of many
small files, pushed by a writer and pulled by a reader, in parallel with boto3, the way
`dvc push` and `dvc pull` drive an S3 remote (existence checks, then PUT or GET).

Environment: as common.py, plus READER_* credentials and FILES (default 2000)."""
import concurrent.futures
import hashlib
import os
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from common import bucket, report

FILES = int(os.environ.get("FILES", "2000"))
b = bucket()
cfg = Config(max_pool_connections=16, retries={"max_attempts": 1})


def make(prefix):
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_URL"],
        region_name="us-east-1",
        config=cfg,
        aws_access_key_id=os.environ[f"{prefix}ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ[f"{prefix}SECRET_ACCESS_KEY"],
        aws_session_token=os.environ[f"{prefix}SESSION_TOKEN"],
    )


writer = make("AWS_")
reader = make("READER_")
blobs = {}
for i in range(FILES):
    data = f"sample {i}\n".encode() + os.urandom(64 + i % 512)
    md5 = hashlib.md5(data).hexdigest()
    blobs[f"files/md5/{md5[:2]}/{md5[2:]}"] = data


def push(key):
    try:
        writer.head_object(Bucket=b, Key=key)
        return "present"
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchKey"):
            return e.response["Error"]["Code"]
    writer.put_object(Bucket=b, Key=key, Body=blobs[key])
    return "pushed"


def pull(key):
    try:
        data = reader.get_object(Bucket=b, Key=key)["Body"].read()
        return "ok" if data == blobs[key] else "corrupt"
    except ClientError as e:
        return e.response["Error"]["Code"] + ": " + e.response["Error"].get("Message", "")[:200]


t0 = time.time()
with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    pushed = list(pool.map(push, blobs))
t1 = time.time()
# dvc lists the remote's cache directory to know what it holds
listed = 0
for page in reader.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix="files/md5/"):
    listed += len(page.get("Contents", []))
with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    pulled = list(pool.map(pull, blobs))
t2 = time.time()
failures = sorted({p for p in pulled if p != "ok"})
report({
    "files": FILES,
    "pushed": pushed.count("pushed"),
    "listed": listed,
    "pulled_ok": pulled.count("ok"),
    "pull_failures": failures[:5],
    "push_s": round(t1 - t0, 1),
    "pull_s": round(t2 - t1, 1),
})
