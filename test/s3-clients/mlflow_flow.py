"""The calls MLflow's S3ArtifactRepository makes: log_artifact(s) with upload_file,
list_artifacts with a list_objects_v2 paginator and Delimiter='/', download_artifacts
with download_file."""
import os
import posixpath
import tempfile

from common import bucket, client, report

s3 = client()
b = bucket()
root = "mlflow/1/0123456789abcdef/artifacts"
files = {
    "model/MLmodel": b"artifact_path: model\nflavors:\n  python_function: {}\n",
    "model/conda.yaml": b"name: mlflow-env\n",
    "model/data/model.pkl": os.urandom(300_000),
    "metrics.json": b'{"accuracy": 0.93}',
}


def list_artifacts(path):
    prefix = posixpath.join(root, path) + "/" if path else root + "/"
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix=prefix, Delimiter="/"):
        for p in page.get("CommonPrefixes", []):
            out.append({"path": posixpath.relpath(p["Prefix"], root), "is_dir": True})
        for o in page.get("Contents", []):
            out.append({"path": posixpath.relpath(o["Key"], root), "is_dir": False, "size": o["Size"]})
    return sorted(out, key=lambda x: x["path"])


with tempfile.TemporaryDirectory() as d:
    for rel, content in files.items():
        local = os.path.join(d, "up", rel)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, "wb") as f:
            f.write(content)
        s3.upload_file(Filename=local, Bucket=b, Key=posixpath.join(root, rel))
    top = list_artifacts("")
    model = list_artifacts("model")
    same = True
    for rel, content in files.items():
        local = os.path.join(d, "down", rel)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        s3.download_file(b, posixpath.join(root, rel), local)
        with open(local, "rb") as f:
            same = same and f.read() == content
report({"top": top, "model": model, "downloaded_same": same})
