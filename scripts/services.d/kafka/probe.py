#!/usr/bin/env python3
"""Readiness probe for scripts/services.d/kafka.sh: one Kafka Metadata request (v4, no topics) on HOST:PORT.

Exits 0 when the broker answers with at least one broker and a known controller, 1 otherwise. Standard library
only; Kafka 4 no longer serves Metadata below v4 (KIP-896), and v4-v8 share the non-flexible layout used here.
"""
import socket
import struct
import sys

CORRELATION_ID = 0x61766200


def string(raw: bytes, at: int):
    (length,) = struct.unpack_from(">h", raw, at)
    at += 2
    if length < 0:
        return None, at
    return raw[at : at + length], at + length


def probe(host: str, port: int) -> bool:
    client = b"avb-probe"
    # Request header v1 (api_key 3 = Metadata, version 4, correlation id, client id), then the body:
    # topics = empty array (no topics), allow_auto_topic_creation = false.
    body = struct.pack(">hhih", 3, 4, CORRELATION_ID, len(client)) + client + struct.pack(">i?", 0, False)
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.settimeout(2)
        sock.sendall(struct.pack(">i", len(body)) + body)
        head = b""
        while len(head) < 4:
            chunk = sock.recv(4 - len(head))
            if not chunk:
                return False
            head += chunk
        (size,) = struct.unpack(">i", head)
        raw = b""
        while len(raw) < size:
            chunk = sock.recv(size - len(raw))
            if not chunk:
                return False
            raw += chunk
    # Response header v0 (correlation id), body v4: throttle_time_ms, brokers[node_id, host, port, rack],
    # cluster_id, controller_id, topics.
    correlation, _throttle, brokers = struct.unpack_from(">iii", raw, 0)
    if correlation != CORRELATION_ID or brokers < 1:
        return False
    at = 12
    for _ in range(brokers):
        at += 4  # node_id
        _host, at = string(raw, at)
        at += 4  # port
        _rack, at = string(raw, at)
    _cluster, at = string(raw, at)
    (controller,) = struct.unpack_from(">i", raw, at)
    return controller >= 0


def main() -> int:
    host, _, port = sys.argv[1].rpartition(":")
    try:
        return 0 if probe(host, int(port)) else 1
    except (OSError, struct.error, ValueError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
