"""Conditional writes, a retried CompleteMultipartUpload, content headers, SigV2 bucket
requests and a chunked upload without Content-Length, through boto3 and botocore."""
import concurrent.futures
import hashlib
import http.client
import os
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from common import bucket, client, report

s3 = client()
b = bucket()
out = {}


def code(fn):
    try:
        fn()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]


# conditional PUT
out["first"] = code(lambda: s3.put_object(Bucket=b, Key="cond/k", Body=b"one", IfNoneMatch="*"))
out["again"] = code(lambda: s3.put_object(Bucket=b, Key="cond/k", Body=b"two", IfNoneMatch="*"))
etag = s3.head_object(Bucket=b, Key="cond/k")["ETag"]
out["wrong_match"] = code(lambda: s3.put_object(Bucket=b, Key="cond/k", Body=b"two", IfMatch='"00000000000000000000000000000000"'))
out["right_match"] = code(lambda: s3.put_object(Bucket=b, Key="cond/k", Body=b"two", IfMatch=etag))
out["body"] = s3.get_object(Bucket=b, Key="cond/k")["Body"].read().decode()

# a race of If-None-Match: * writers, each with its own client (own connections)
def racer(i):
    c = client()
    return code(lambda: c.put_object(Bucket=b, Key="cond/race", Body=f"w{i}".encode(), IfNoneMatch="*"))

with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
    out["race"] = sorted(pool.map(racer, range(8)))
out["race_versions"] = len([v for v in s3.list_object_versions(Bucket=b, Prefix="cond/race").get("Versions", []) if v["Key"] == "cond/race"])

# multipart: Complete retried after success answers the same; Complete If-None-Match on an existing key is 412
MIB = 1024 * 1024
data = os.urandom(5 * MIB + 11)
up = s3.create_multipart_upload(Bucket=b, Key="mp/retry", CacheControl="max-age=60", ContentDisposition='attachment; filename="r.bin"')
parts = []
for n, i in enumerate(range(0, len(data), 5 * MIB), 1):
    r = s3.upload_part(Bucket=b, Key="mp/retry", UploadId=up["UploadId"], PartNumber=n, Body=data[i : i + 5 * MIB])
    parts.append({"PartNumber": n, "ETag": r["ETag"]})
done = s3.complete_multipart_upload(Bucket=b, Key="mp/retry", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
retry = s3.complete_multipart_upload(Bucket=b, Key="mp/retry", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
out["complete_etag_same"] = done["ETag"] == retry["ETag"]
out["complete_version_same"] = done.get("VersionId") == retry.get("VersionId") and done.get("VersionId") is not None
head = s3.head_object(Bucket=b, Key="mp/retry")
out["mp_cache_control"] = head.get("CacheControl")
out["mp_disposition"] = head.get("ContentDisposition")
up2 = s3.create_multipart_upload(Bucket=b, Key="mp/retry")
r = s3.upload_part(Bucket=b, Key="mp/retry", UploadId=up2["UploadId"], PartNumber=1, Body=b"tiny")
out["complete_if_none_match"] = code(
    lambda: s3.complete_multipart_upload(Bucket=b, Key="mp/retry", UploadId=up2["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]}, IfNoneMatch="*")
)
out["mp_body_same"] = hashlib.sha256(s3.get_object(Bucket=b, Key="mp/retry")["Body"].read()).hexdigest() == hashlib.sha256(data).hexdigest()

# SigV2 (signature_version='s3'): bucket-level requests (GET /bucket, HEAD /bucket)
v2 = client("s3")
out["sigv2_list"] = sorted(o["Key"] for o in v2.list_objects(Bucket=b, Prefix="cond/").get("Contents", []))
out["sigv2_head_bucket"] = v2.head_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"]
out["sigv2_versioning"] = v2.get_bucket_versioning(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"]

# a body in chunked Transfer-Encoding, no Content-Length, size in x-amz-decoded-content-length
payload = os.urandom(300_000)
url = f"{os.environ['S3_URL']}/{b}/chunked/obj"
creds = s3._request_signer._credentials.get_frozen_credentials()


def chunked_put(headers):
    req = AWSRequest(method="PUT", url=url, data=payload, headers=headers)
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    conn.putrequest("PUT", parsed.path, skip_accept_encoding=True)
    for k, v in req.headers.items():
        if k.lower() != "content-length":
            conn.putheader(k, v)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for i in range(0, len(payload), 65536):
        chunk = payload[i : i + 65536]
        conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, body


status, _ = chunked_put({"x-amz-decoded-content-length": str(len(payload))})
out["chunked_status"] = status
out["chunked_same"] = status == 200 and s3.get_object(Bucket=b, Key="chunked/obj")["Body"].read() == payload
status, body = chunked_put({})
out["chunked_without_length"] = [status, "MissingContentLength" in body]
report(out)
