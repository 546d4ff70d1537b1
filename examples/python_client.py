#!/usr/bin/env python3
"""A client for an edgepipe node, written from docs/protocol.md with only pyzmq and protobuf.

    python3 examples/python_client.py --proto build/python --address tcp://127.0.0.1:5555 \
        --model head --input feat=1x4x5x5 [--server-key KEY | --server-key-file F] [--keys DIR] \
        [--route tcp://10.0.0.2:5555=stage2] [--status]

It sends one f32 tensor per --input (filled with the values i * 0.01 - 0.5, so runs are
reproducible), prints the reply's tensors (name, dtype, shape, first values) and the hop
stamps, and exits 0. The module wire_pb2 is generated from src/dist/wire.proto at build time
(build/python/wire_pb2.py), or by hand:  protoc --python_out=DIR -I src/dist src/dist/wire.proto
"""
import argparse
import array
import itertools
import os
import sys

import zmq

PROTOCOL_VERSION = 1
# Wire dtypes (wire.proto DType) -> (name, struct format, bytes).
DTYPES = {1: ("f32", "f", 4), 4: ("f64", "d", 8), 5: ("i8", "b", 1), 6: ("u8", "B", 1), 7: ("i16", "h", 2),
          8: ("u16", "H", 2), 9: ("i32", "i", 4), 10: ("u32", "I", 4), 11: ("i64", "q", 8), 12: ("u64", "Q", 8),
          13: ("bool", "B", 1), 2: ("f16", None, 2), 3: ("bf16", None, 2)}


class NodeError(Exception):
    pass


class Client:
    """One DEALER socket to one node; one request at a time, replies matched by frame id."""

    def __init__(self, wire, address, server_key=None, keys_dir=None, timeout_ms=5000):
        self.wire = wire
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        if server_key:
            if keys_dir:
                public = open(os.path.join(keys_dir, "public.key")).read().strip().encode()
                secret = open(os.path.join(keys_dir, "secret.key")).read().strip().encode()
            else:
                public, secret = zmq.curve_keypair()  # ephemeral: no allow-list admits it
            self.sock.curve_serverkey = server_key.encode()
            self.sock.curve_publickey = public
            self.sock.curve_secretkey = secret
        self.sock.connect(address)
        self.timeout_ms = timeout_ms
        self.frame_ids = itertools.count(1)

    def _call(self, header, data_frames=()):
        header.version = PROTOCOL_VERSION
        header.frame_id = next(self.frame_ids)
        # Frame 0 is the header, then one raw frame per tensor; copy=False hands the buffers to zmq.
        self.sock.send_multipart([header.SerializeToString(), *data_frames], copy=False)
        while True:
            if not self.sock.poll(self.timeout_ms):
                raise NodeError("no reply in %d ms" % self.timeout_ms)
            frames = self.sock.recv_multipart(copy=False)
            reply = self.wire.Header()
            reply.ParseFromString(frames[0].bytes)
            if reply.frame_id != header.frame_id:
                continue  # a late reply to an earlier request
            if reply.kind == self.wire.ERROR:
                raise NodeError("%s: %s" % (reply.error.code, reply.error.message))
            return reply, frames[1:]

    def infer(self, model, tensors, route=()):
        """tensors: [(name, dims, array.array)]; route: [(address, model, server_key)].
        Returns (header, [(name, dtype name, dims, memoryview of the frame)])."""
        h = self.wire.Header(kind=self.wire.INFER, model=model)
        for address, hop_model, key in route:
            h.route.add(address=address, model=hop_model, server_key=key or "")
        data = []
        for name, dims, values in tensors:
            h.tensors.add(name=name, dtype=1, dims=dims)  # 1: F32
            data.append(memoryview(values).cast("B"))
        reply, frames = self._call(h, data)
        out = []
        for meta, frame in zip(reply.tensors, frames):
            name, fmt, size = DTYPES[meta.dtype]
            count = 1
            for d in meta.dims:
                count *= d
            if len(frame.buffer) != count * size:  # validate against the header, as a node does
                raise NodeError("tensor '%s': frame has %d bytes, header says %d" % (meta.name, len(frame.buffer), count * size))
            view = frame.buffer.cast(fmt) if fmt else frame.buffer
            out.append((meta.name, name, list(meta.dims), view))
        return reply, out

    def status(self):
        reply, _ = self._call(self.wire.Header(kind=self.wire.STATUS))
        return reply.status


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proto", required=True, help="folder holding wire_pb2.py")
    ap.add_argument("--address", required=True)
    ap.add_argument("--model")
    ap.add_argument("--input", action="append", default=[], help="NAME=1x3x640x640 (f32)")
    ap.add_argument("--route", action="append", default=[], help="ADDRESS=MODEL[=SERVER_KEY]")
    ap.add_argument("--server-key")
    ap.add_argument("--server-key-file")
    ap.add_argument("--keys", help="this client's keypair folder (edgepipe keygen)")
    ap.add_argument("--status", action="store_true")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    a = ap.parse_args()
    sys.path.insert(0, a.proto)
    import wire_pb2 as wire

    key = a.server_key or (open(a.server_key_file).read().strip() if a.server_key_file else None)
    c = Client(wire, a.address, key, a.keys, a.timeout_ms)
    if a.status:
        s = c.status()
        print("node %s protocol %d requests %d" % (s.node, s.protocol_version, s.requests))
        for m in s.models:
            print("model %s version %s requests %d p50 %.3f ms" % (m.name, m.version, m.requests, m.run_p50_ns / 1e6))
    if a.model:
        tensors = []
        for spec in a.input:
            name, dims = spec.split("=")
            dims = [int(d) for d in dims.split("x")]
            count = 1
            for d in dims:
                count *= d
            tensors.append((name, dims, array.array("f", (i * 0.01 - 0.5 for i in range(count)))))
        route = []
        for spec in a.route:
            parts = spec.split("=")
            route.append((parts[0], parts[1], parts[2] if len(parts) > 2 else None))
        reply, outs = c.infer(a.model, tensors, route)
        for name, dtype, dims, view in outs:
            print("output %s %s %s %s" % (name, dtype, "x".join(map(str, dims)), " ".join("%.6f" % v for v in view[:8])))
        for hop in reply.hops:
            print("hop %s model %s run %.3f ms" % (hop.node, hop.model, (hop.run_end_ns - hop.run_start_ns) / 1e6))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except NodeError as e:
        print("error:", e, file=sys.stderr)
        sys.exit(1)
