#!/bin/sh
# Model updates by gossip among 16 `edgepipe node` processes on loopback (issue 7): rounds until
# every node has an update (limit 2*log2(16) = 8), outputs against the new model run locally,
# corrupted and stale deltas rejected by every node. The work is in bench/gossip.py (stdlib).
#   bench/gossip.sh [--runs 5] [--nodes 16] [--gossip-ms 200] [--peers K] [--dead K] [--seed S] [--out DIR]
#                   [--edgepipe build/edgepipe] [--write-models build/tests/dist_write_gossip_models]
exec python3 "$(dirname "$0")/gossip.py" "$@"
