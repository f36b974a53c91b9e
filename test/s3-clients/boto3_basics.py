"""boto3: put/get/head/list, presigned URLs (SigV2 as boto3 makes them by default for a
custom endpoint, and SigV4), upload_file/download_file with multipart, delete."""
import hashlib
import os
import tempfile
import urllib.request

import botocore
from boto3.s3.transfer import TransferConfig

from common import bucket, client, report

s3 = client()
b = bucket()
out = {}
put = s3.put_object(Bucket=b, Key="py/hello world.txt", Body=b"hello from boto3")
out["put_etag"] = put["ETag"]
out["get"] = s3.get_object(Bucket=b, Key="py/hello world.txt")["Body"].read().decode()
out["head_length"] = s3.head_object(Bucket=b, Key="py/hello world.txt")["ContentLength"]
out["list"] = [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix="py/")["Contents"]]

v2_url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "py/hello world.txt"}, ExpiresIn=300)
out["presign_default_is_v2"] = "AWSAccessKeyId=" in v2_url and "Signature=" in v2_url
out["presign_v2_body"] = urllib.request.urlopen(v2_url).read().decode()
v4_url = client("s3v4").generate_presigned_url("get_object", Params={"Bucket": b, "Key": "py/hello world.txt"}, ExpiresIn=300)
out["presign_v4_is_v4"] = "X-Amz-Signature=" in v4_url
out["presign_v4_body"] = urllib.request.urlopen(v4_url).read().decode()
try:
    urllib.request.urlopen(v4_url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
    out["tampered_presign"] = 200
except urllib.error.HTTPError as e:
    out["tampered_presign"] = e.code
put_url = client("s3v4").generate_presigned_url("put_object", Params={"Bucket": b, "Key": "py/presigned-put.txt"}, ExpiresIn=300)
urllib.request.urlopen(urllib.request.Request(put_url, data=b"put through a presigned url", method="PUT")).read()
out["presigned_put"] = s3.get_object(Bucket=b, Key="py/presigned-put.txt")["Body"].read().decode()
out["sigv2_header_get"] = client("s3").get_object(Bucket=b, Key="py/hello world.txt")["Body"].read().decode()

data = os.urandom(17 * 1024 * 1024 + 5)
cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)
with tempfile.TemporaryDirectory() as d:
    src, dst = os.path.join(d, "src.bin"), os.path.join(d, "dst.bin")
    with open(src, "wb") as f:
        f.write(data)
    s3.upload_file(src, b, "py/multipart.bin", Config=cfg)
    s3.download_file(b, "py/multipart.bin", dst, Config=cfg)
    with open(dst, "rb") as f:
        out["multipart_same"] = hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()
out["multipart_etag"] = s3.head_object(Bucket=b, Key="py/multipart.bin")["ETag"]

s3.delete_object(Bucket=b, Key="py/presigned-put.txt")
try:
    s3.head_object(Bucket=b, Key="py/presigned-put.txt")
    out["after_delete"] = 200
except botocore.exceptions.ClientError as e:
    out["after_delete"] = int(e.response["ResponseMetadata"]["HTTPStatusCode"])
try:
    s3.get_object(Bucket=b, Key="py/never")
except botocore.exceptions.ClientError as e:
    out["missing_code"] = e.response["Error"]["Code"]
report(out)
