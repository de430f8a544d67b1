"""Drives Infergate's Open Inference Protocol endpoints with Triton's own HTTP client.

Run by tests/oip.rs against a real server: python oip_tritonclient.py HOST:PORT MODEL DOG.jpg CAT.jpg
Exits non-zero (with the failed assertion) if anything is off.
"""
import base64
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

url, model, dog_path, cat_path = sys.argv[1:5]
dog = open(dog_path, "rb").read()
cat = open(cat_path, "rb").read()
client = httpclient.InferenceServerClient(url=url)

# Health and metadata.
assert client.is_server_live()
assert client.is_server_ready()
meta = client.get_server_metadata()
assert meta["name"] == "infergate", meta
assert "classification" in meta["extensions"] and "binary_tensor_data" in meta["extensions"], meta
assert client.is_model_ready(model)
assert client.is_model_ready(model, "1")
assert not client.is_model_ready("no-such-model")
mm = client.get_model_metadata(model)
assert mm["name"] == model and "1" in mm["versions"], mm
inp_meta, out_meta = mm["inputs"][0], mm["outputs"][0]
assert inp_meta["datatype"] == "FP32" and inp_meta["shape"][1:] == [3, 224, 224], inp_meta
assert out_meta["shape"][-1] == 1000, out_meta
assert client.get_model_metadata(model, "1")["versions"] == ["1"]
in_name, out_name = inp_meta["name"], out_meta["name"]

# FP32 tensors: JSON and binary data give the same logits.
rng = np.random.default_rng(7)
x = rng.standard_normal((2, 3, 224, 224), dtype=np.float32)


def infer_fp32(binary_in, binary_out, **kw):
    inp = httpclient.InferInput(in_name, list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary_in)
    out = httpclient.InferRequestedOutput(out_name, binary_data=binary_out)
    return client.infer(model, [inp], outputs=[out], **kw).as_numpy(out_name)


as_json = infer_fp32(False, False)
as_binary = infer_fp32(True, True)
versioned = infer_fp32(True, False, model_version="1")
assert as_json.shape == (2, 1000) and as_binary.shape == (2, 1000), (as_json.shape, as_binary.shape)
assert np.allclose(as_json, as_binary, atol=1e-4), np.abs(as_json - as_binary).max()
assert np.allclose(as_binary, versioned, atol=1e-5)

# Classification extension on the FP32 result: "score:index:label", best first.
inp = httpclient.InferInput(in_name, list(x.shape), "FP32")
inp.set_data_from_numpy(x, binary_data=True)
for binary_out in (True, False):
    out = httpclient.InferRequestedOutput(out_name, binary_data=binary_out, class_count=3)
    classes = client.infer(model, [inp], outputs=[out]).as_numpy(out_name)
    assert classes.shape == (2, 3), classes.shape
    for row, logits in zip(classes, as_binary):
        indices = [int((c.decode() if isinstance(c, bytes) else c).split(":")[1]) for c in row]
        assert indices == list(np.argsort(-logits)[:3]), (indices, np.argsort(-logits)[:3])
        score = float((row[0].decode() if isinstance(row[0], bytes) else row[0]).split(":")[0])
        assert abs(score - logits.max()) < 1e-3


# Encoded images in a BYTES tensor: binary data, then base64 strings in JSON; a batch of two.
def infer_images(images, binary_in):
    if binary_in:
        data = np.array(images, dtype=np.object_)
    else:
        data = np.array([base64.b64encode(i) for i in images], dtype=np.object_)
    inp = httpclient.InferInput("image", [len(images)], "BYTES")
    inp.set_data_from_numpy(data, binary_data=binary_in)
    out = httpclient.InferRequestedOutput(out_name, binary_data=True, class_count=5)
    return client.infer(model, [inp], outputs=[out]).as_numpy(out_name)


for binary_in in (True, False):
    top = infer_images([dog, cat], binary_in)
    assert top.shape == (2, 5), top.shape
    dog_top, cat_top = top[0][0].decode(), top[1][0].decode()
    assert dog_top.split(":")[1:] == ["258", "Samoyed"], dog_top
    assert cat_top.split(":")[1:] == ["282", "tiger cat"], cat_top

# Errors come back as exceptions with the server's message, not crashes.
bad = httpclient.InferInput(in_name, [1, 3, 100, 100], "FP32")
bad.set_data_from_numpy(np.zeros((1, 3, 100, 100), dtype=np.float32))
for call, needle in [
    (lambda: client.infer(model, [bad]), "does not match"),
    (lambda: client.infer("no-such-model", [bad]), "unknown model"),
    (lambda: infer_images([b"not an image"], True), "is not a JPEG, PNG or WebP"),
]:
    try:
        call()
        raise AssertionError(f"expected an error containing {needle!r}")
    except InferenceServerException as e:
        assert needle in str(e), str(e)

print("tritonclient: all Open Inference Protocol checks passed")
