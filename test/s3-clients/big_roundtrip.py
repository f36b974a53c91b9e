"""100 MiB through boto3: upload_file (multipart, 4 threads) and download_file
(parallel ranged GETs), compared byte for byte by SHA-256."""
import hashlib
import os
import tempfile
import time

from boto3.s3.transfer import TransferConfig

from common import bucket, client, report

MIB = 1024 * 1024
size = int(os.environ.get("SIZE_MIB", "100")) * MIB
s3 = client()
b = bucket()
cfg = TransferConfig(multipart_threshold=16 * MIB, multipart_chunksize=16 * MIB, max_concurrency=4)
with tempfile.TemporaryDirectory() as d:
    src, dst = os.path.join(d, "src.bin"), os.path.join(d, "dst.bin")
    h = hashlib.sha256()
    with open(src, "wb") as f:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 4 * MIB))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    t0 = time.time()
    s3.upload_file(src, b, "big/boto3-100mib.bin", Config=cfg)
    t1 = time.time()
    s3.download_file(b, "big/boto3-100mib.bin", dst, Config=cfg)
    t2 = time.time()
    g = hashlib.sha256()
    with open(dst, "rb") as f:
        while True:
            chunk = f.read(4 * MIB)
            if not chunk:
                break
            g.update(chunk)
head = s3.head_object(Bucket=b, Key="big/boto3-100mib.bin")
report({"same": g.hexdigest() == h.hexdigest(), "size": head["ContentLength"], "etag": head["ETag"], "upload_s": round(t1 - t0, 2), "download_s": round(t2 - t1, 2)})
