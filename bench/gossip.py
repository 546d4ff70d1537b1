#!/usr/bin/env python3
"""Model updates by gossip among N `edgepipe node` processes on loopback (issue 7).

Starts N nodes serving the same small model, each gossiping with the others (or a random
subset) every --gossip-ms. Each run gives one node a weight delta (`edgepipe update`) and
polls every node's STATUS until all serve the new version; the round at which a node got it
is (its apply time - the injecting node's apply time) / gossip period, both read from the
nodes' steady clocks (one machine: one clock), so polling does not blur it. Then checks:
every node converged within 2*log2(N) rounds and to the same version (the new model file's
sha256, computed here); every node's outputs equal the new model's run locally (edgepipe
infer); a corrupted delta (one flipped byte) and a stale one (right sequence number, built on
an older version) given to every node are rejected by every node, counted in its status, and
change nothing anywhere. With --dead K, K nodes are stopped before the first update (their
peers still list them) and the checks apply to the others. Exit status 1 on any failed
check. Stdlib only.
"""
import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def log(*a):
    print(*a, flush=True)


def free_base_port(n, rng):
    for _ in range(50):
        base = rng.randrange(20000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    sys.exit("gossip: found no %d free ports in a row" % n)


def version_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


class Cluster:
    def __init__(self, a, work, rng):
        self.a, self.work = a, work
        base = free_base_port(a.nodes, rng)
        self.addr = ["tcp://127.0.0.1:%d" % (base + i) for i in range(a.nodes)]
        self.procs = []
        for i in range(a.nodes):
            others = [x for j, x in enumerate(self.addr) if j != i]
            peers = others if a.peers <= 0 else rng.sample(others, min(a.peers, len(others)))
            ready = os.path.join(work, "n%d.ready" % i)
            cmd = [a.edgepipe, "node", "--bind", self.addr[i], "--models", os.path.join(work, "models"), "--name", "n%d" % i,
                   "--threads", "1", "--peers", ",".join(peers), "--gossip-ms", str(a.gossip_ms), "--ready-file", ready]
            err = open(os.path.join(work, "n%d.log" % i), "w")
            self.procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err), ready))
        deadline = time.time() + 30
        for i, (p, ready) in enumerate(self.procs):
            while not os.path.exists(ready):
                if p.poll() is not None or time.time() > deadline:
                    sys.exit("gossip: node n%d did not start: %s" % (i, open(os.path.join(work, "n%d.log" % i)).read()))
                time.sleep(0.05)

    def statuses(self, nodes):
        # One process per node, all at once: a sweep takes one process start, not 16.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return dict(zip(nodes, pool.map(self.status, nodes)))

    def status(self, i):
        r = subprocess.run([self.a.edgepipe, "node-call", self.addr[i], "--status", "--json", "--timeout-ms", "30000"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("status of n%d: %s" % (i, r.stderr.strip()))
        return json.loads(r.stdout)

    def stop(self):
        codes = []
        for p, _ in self.procs:
            p.terminate()
        for p, _ in self.procs:
            try:
                codes.append(p.wait(timeout=10))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(-9)
        return codes


def model_version(s):
    return s["models"][0]["version"]


def gossip_field(s, name):
    return int(s.get("gossip", {}).get(name, 0))


def run_tool(a, *args):
    return subprocess.run([a.edgepipe, *args], capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgepipe", default="build/edgepipe")
    ap.add_argument("--write-models", default="build/tests/dist_write_gossip_models")
    ap.add_argument("--nodes", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5, help="updates, one after another, each measured")
    ap.add_argument("--gossip-ms", type=int, default=200)
    ap.add_argument("--peers", type=int, default=0, help="peers per node, a random subset; 0: all the others")
    ap.add_argument("--dead", type=int, default=0, help="nodes stopped before the first update (their peers keep them listed)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="work folder (kept); default: a temporary one")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = a.out or tempfile.mkdtemp(prefix="edgepipe_gossip_")
    os.makedirs(work, exist_ok=True)
    limit = 2 * math.log2(a.nodes)
    failures = []
    subprocess.run([a.write_models, work, str(a.runs + 1)], check=True)
    files = [os.path.join(work, "models", "m.onnx")] + [os.path.join(work, "v%d.onnx" % k) for k in range(1, a.runs + 2)]
    cluster = Cluster(a, work, rng)
    alive = list(range(a.nodes))
    dead = sorted(rng.sample(alive, a.dead)) if a.dead > 0 else []
    for i in dead:
        cluster.procs[i][0].terminate()
        cluster.procs[i][0].wait(timeout=10)
        alive.remove(i)
    log("%d nodes on loopback, gossip every %d ms, %s peers each; limit 2*log2(%d) = %g rounds%s" %
        (a.nodes, a.gossip_ms, a.peers if a.peers > 0 else a.nodes - 1, a.nodes, limit,
         "; stopped before the updates: %s" % ["n%d" % i for i in dead] if dead else ""))
    try:
        last_rounds, per_node = [], []
        for k in range(1, a.runs + 1):
            delta = os.path.join(work, "d%d.delta" % k)
            r = run_tool(a, "delta", files[k - 1], files[k], "--model", "m", "--origin", "trainer", "--seq", str(k), "-o", delta)
            if r.returncode != 0:
                sys.exit("gossip: edgepipe delta: " + r.stderr)
            want = version_of(files[k])  # the exact delta gives the new file's bytes
            origin = rng.choice(alive)
            r = run_tool(a, "update", "--node", cluster.addr[origin], delta)
            if r.returncode != 0:
                sys.exit("gossip: update at n%d: %s" % (origin, r.stderr))
            deadline = time.time() + 10 * limit * a.gossip_ms / 1000 + 10
            states = [None] * a.nodes
            while True:
                swept_at = time.time()  # a node is "never" only in a sweep begun after the deadline
                states = cluster.statuses(alive)
                if all(model_version(s) == want for s in states.values()) or swept_at > deadline:
                    break
                time.sleep(a.gossip_ms / 4000)
            behind = [i for i, s in states.items() if model_version(s) != want]
            if behind:
                failures.append("run %d: nodes %s never got version %s" % (k, behind, want))
                continue
            period = int(states[origin]["gossip"]["period_ns"])
            t0 = int(states[origin]["gossip"]["last_applied_ns"])
            rounds = [(int(s["gossip"]["last_applied_ns"]) - t0) / period for s in states.values()]
            last_rounds.append(max(rounds))
            per_node += [(int(s["gossip"]["last_applied_ns"]) - t0) / period for i, s in states.items() if i != origin]
            log("run %d: delta %s -> %s given to n%d; rounds until each node had it: median %.2f, last %.2f" %
                (k, version_of(files[k - 1]), want, origin, statistics.median(rounds), max(rounds)))
            if max(rounds) > limit:
                failures.append("run %d: the last node got the update after %.2f rounds, limit %g" % (k, max(rounds), limit))
        final = version_of(files[a.runs])
        # Oracle: every node's outputs against the new model run locally.
        oracle = os.path.join(work, "oracle")
        r = run_tool(a, "infer", files[a.runs], "-i", "X=" + os.path.join(work, "x.npy"), "-o", oracle, "--threads", "1")
        if r.returncode != 0:
            sys.exit("gossip: edgepipe infer: " + r.stderr)
        want_y = open(os.path.join(oracle, "Y.npy"), "rb").read()
        for i in alive:
            out = os.path.join(work, "out%d" % i)
            os.makedirs(out, exist_ok=True)
            r = run_tool(a, "node-call", cluster.addr[i], "--model", "m", "--input", "X=" + os.path.join(work, "x.npy"), "--output-dir", out)
            if r.returncode != 0 or open(os.path.join(out, "Y.npy"), "rb").read() != want_y:
                failures.append("n%d: outputs differ from the new model run locally %s" % (i, r.stderr.strip()))
        # Bad deltas, given to every node: one flipped byte; a stale base with the next sequence number.
        nxt = a.runs + 1
        good = os.path.join(work, "next.delta")
        run_tool(a, "delta", files[a.runs], files[nxt], "--model", "m", "--origin", "trainer", "--seq", str(nxt), "-o", good)
        data = bytearray(open(good, "rb").read())
        data[len(data) // 2] ^= 0x01
        corrupt = os.path.join(work, "corrupt.delta")
        open(corrupt, "wb").write(data)
        stale = os.path.join(work, "stale.delta")
        r = run_tool(a, "delta", files[a.runs - 1], files[nxt], "--model", "m", "--origin", "trainer", "--seq", str(nxt), "-o", stale)
        if r.returncode != 0:
            sys.exit("gossip: edgepipe delta (stale): " + r.stderr)
        before = cluster.statuses(alive)
        for name, path, reason in (("corrupted", corrupt, "checksum mismatch"), ("stale", stale, "wrong base")):
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(alive)) as pool:
                replies = pool.map(lambda i: run_tool(a, "update", "--node", cluster.addr[i], path), alive)
            for i, r in zip(alive, replies):
                if r.returncode == 0 or reason not in r.stderr:
                    failures.append("n%d accepted the %s delta or gave another reason: %s" % (i, name, r.stderr.strip()))
        time.sleep(3 * a.gossip_ms / 1000)  # rounds in which a node could have passed them on
        after = cluster.statuses(alive)
        rejected = []
        for i in alive:
            added = gossip_field(after[i], "deltas_rejected") - gossip_field(before[i], "deltas_rejected")
            rejected.append(added)
            if added != 2:
                failures.append("n%d: %d more deltas rejected, expected 2 (the corrupted and the stale one)" % (i, added))
            if model_version(after[i]) != final or gossip_field(after[i], "deltas_applied") != a.runs:
                failures.append("n%d: version %s and %d deltas applied after the bad ones, expected %s and %d" %
                                (i, model_version(after[i]), gossip_field(after[i], "deltas_applied"), final, a.runs))
        log("bad deltas given to all %d running nodes: rejected by %d (corrupted: checksum mismatch; stale: wrong base)" %
            (len(alive), sum(1 for x in rejected if x == 2)))
        if last_rounds:
            log("SUMMARY nodes=%d dead=%d gossip_ms=%d runs=%d rounds_last_node_median=%.2f rounds_last_node_max=%.2f "
                "rounds_per_node_median=%.2f limit=%g converged=%s outputs_match=%s bad_rejected_everywhere=%s" %
                (a.nodes, len(dead), a.gossip_ms, len(last_rounds), statistics.median(last_rounds), max(last_rounds),
                 statistics.median(per_node), limit, len(last_rounds) == a.runs,
                 not any("outputs differ" in f for f in failures), all(x == 2 for x in rejected)))
    finally:
        codes = cluster.stop()
        if any(c != 0 for c in codes):
            failures.append("nodes exited with %s (0: clean)" % codes)
    for f in failures:
        log("FAIL " + f)
    if not a.out and not failures:
        subprocess.run(["rm", "-rf", work])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
