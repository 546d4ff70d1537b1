#!/usr/bin/env python3
"""examples/python_client.py against real `edgepipe node` processes: a plain local node and a
CURVE node whose allow-list holds a key made by `edgepipe keygen`; then a two-node route.
    python_client_test.py EDGEPIPE WRITE_MODELS PYTHON_DIR EXAMPLES_DIR WORK_DIR"""
import math
import os
import shutil
import signal
import subprocess
import sys
import time

edgepipe, write_models, proto_dir, examples_dir, work = sys.argv[1:6]
sys.path.insert(0, proto_dir)
sys.path.insert(0, examples_dir)
import python_client  # noqa: E402
import wire_pb2 as wire  # noqa: E402

shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
models = os.path.join(work, "models")
subprocess.run([write_models, models], check=True)
nodes = []


def start_node(name, *args):
    ready = os.path.join(work, name + ".ready")
    p = subprocess.Popen([edgepipe, "node", "--bind", "tcp://127.0.0.1:*", "--models", models, "--name", name,
                          "--ready-file", ready, *args])
    nodes.append(p)
    for _ in range(1000):
        if os.path.exists(ready):
            endpoint, key = (open(ready).read().split("\n") + [""])[:2]
            return endpoint, key
        if p.poll() is not None:
            sys.exit("node %s exited with %d" % (name, p.returncode))
        time.sleep(0.01)
    sys.exit("node %s did not start" % name)


def check_head(outs):
    name, dtype, dims, view = outs[0]
    assert (name, dtype, dims) == ("P", "f32", [1, 4, 5, 5]), (name, dtype, dims)
    for i, v in enumerate(view):
        want = 1 / (1 + math.exp(-(i * 0.01 - 0.5)))
        assert abs(v - want) < 1e-6, (i, v, want)


try:
    import array
    x = array.array("f", (i * 0.01 - 0.5 for i in range(100)))

    # Plain, on loopback.
    endpoint, _ = start_node("plain")
    c = python_client.Client(wire, endpoint)
    reply, outs = c.infer("head", [("feat", [1, 4, 5, 5], x)])
    check_head(outs)
    assert len(reply.hops) == 1 and reply.hops[0].node == "plain"
    assert [m.name for m in c.status().models] == ["head", "stage1", "stage2"]
    try:
        c.infer("missing", [("feat", [1, 4, 5, 5], x)])
        sys.exit("an unknown model was answered")
    except python_client.NodeError as e:
        assert "model 'missing'" in str(e), e

    # CURVE: keys from edgepipe keygen, the client's public key in the allow-list.
    for d in ("server", "client"):
        subprocess.run([edgepipe, "keygen", "-o", os.path.join(work, d)], check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.join(work, "allow"))
    shutil.copy(os.path.join(work, "client", "public.key"), os.path.join(work, "allow", "python.key"))
    endpoint, key = start_node("curve", "--keys", os.path.join(work, "server"), "--allow", os.path.join(work, "allow"))
    assert len(key) == 40, key
    c = python_client.Client(wire, endpoint, key, os.path.join(work, "client"))
    _, outs = c.infer("head", [("feat", [1, 4, 5, 5], x)])
    check_head(outs)
    stranger = python_client.Client(wire, endpoint, key, None, timeout_ms=500)  # ephemeral key
    try:
        stranger.infer("head", [("feat", [1, 4, 5, 5], x)])
        sys.exit("a key outside the allow-list was answered")
    except python_client.NodeError as e:
        assert "no reply" in str(e), e

    # A route: the plain node runs stage1, forwards to a second node running head.
    b_endpoint, _ = start_node("b")
    a_endpoint, _ = start_node("a")
    c = python_client.Client(wire, a_endpoint)
    x2 = array.array("f", (i * 0.01 - 0.5 for i in range(50)))
    reply, outs = c.infer("stage1", [("X", [1, 2, 5, 5], x2)], [(b_endpoint, "head", None)])
    assert outs[0][0] == "P" and outs[0][2] == [1, 4, 5, 5], outs[0][:3]
    assert [h.node for h in reply.hops] == ["a", "b"], reply.hops
    print("python client: plain, CURVE, refusal and a two-node route ok")
finally:
    for p in nodes:
        p.send_signal(signal.SIGTERM)
    codes = [p.wait(timeout=10) for p in nodes]
    if any(codes):
        sys.exit("a node did not stop cleanly: exit codes %s" % codes)
