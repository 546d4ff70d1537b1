#!/bin/sh
# Runs python_client_test.py with a python3 that has pyzmq and protobuf; 77 (skip) if none.
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import zmq, google.protobuf' 2>/dev/null; then
    exec "$p" "$(dirname "$0")/python_client_test.py" "$@"
  fi
done
echo "python_client: no python3 with pyzmq and protobuf (apt install python3-zmq python3-protobuf): skipped"
exit 77
