"""Receivers for the latency run that time frames by the kernel, not by the
harness: K WebSocket clients on plain TCP sockets with SO_TIMESTAMPNS, so each
read says when its bytes reached the socket (on loopback: when the server's
write returned), whatever this process was doing then. The harness's own
receivers (one Deno process for all 50) time a frame when their event loop
gets to it, after the frames of the receivers served before; this measures
the server and the kernel only.

python3 bench/_kernel_arrivals.py HOST PORT PROTOCOL K SKIP COUNT
Prints "ready" once every client has its bus, then, after COUNT binary frames
past the first SKIP per client (or 10 s without any), one JSON line:
{"latencies": [ms, ...], "frames": N}. A frame's latency is the kernel
arrival time minus the timestamp the sender put in it (seconds, float64 at
offset 1 of the binary message); frames that arrive in one read all get that
read's time, the last skb's, so a latency can only come out too long.
"""

import base64
import json
import os
import selectors
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def handshake(host, port, protocol):
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n"
        ).encode()
    )
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        head += chunk
    status, rest = head.split(b"\r\n\r\n", 1)
    if b" 101 " not in status.split(b"\r\n", 1)[0] + b" ":
        raise RuntimeError(status.decode(errors="replace"))
    request = json.dumps({"type": "bus_request", "payload": {"config": {}}}).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(request))
    sock.sendall(bytes([0x81, 0x80 | len(request)]) + mask + masked)
    return sock, bytearray(rest)


def messages(buffer):
    """Takes whole unmasked frames off the front of buffer: (opcode, payload)."""
    out = []
    while len(buffer) >= 2:
        length = buffer[1] & 0x7F
        at = 2
        if length == 126:
            if len(buffer) < 4:
                break
            length = struct.unpack_from(">H", buffer, 2)[0]
            at = 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length = struct.unpack_from(">Q", buffer, 2)[0]
            at = 10
        if len(buffer) < at + length:
            break
        out.append((buffer[0] & 0x0F, bytes(buffer[at : at + length])))
        del buffer[: at + length]
    return out


def main():
    host, port, protocol, k, skip, count = sys.argv[1:7]
    port, k, skip, count = int(port), int(k), int(skip), int(count)
    clients = [handshake(host, port, protocol) for _ in range(k)]
    # Each client's bus_response, then kernel timestamps from here on.
    for sock, buffer in clients:
        while not any(op == 1 for op, _ in messages(buffer)):
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("closed before its bus_response")
            buffer += chunk
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
    selector = selectors.DefaultSelector()
    state = {}
    for sock, buffer in clients:
        state[sock.fileno()] = {"sock": sock, "buffer": buffer, "seen": 0}
        selector.register(sock, selectors.EVENT_READ, sock.fileno())
    print("ready", flush=True)
    latencies = []
    wanted = k * count
    last = time.monotonic()
    space = socket.CMSG_SPACE(16)
    while len(latencies) < wanted and time.monotonic() - last < 10:
        for key, _ in selector.select(timeout=1):
            client = state[key.data]
            try:
                data, ancillary, _, _ = client["sock"].recvmsg(65536, space)
            except BlockingIOError:
                continue
            if not data:
                selector.unregister(client["sock"])
                continue
            arrival = None
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    arrival = seconds + nanoseconds / 1e9
            client["buffer"] += data
            for opcode, payload in messages(client["buffer"]):
                if opcode != 2 or len(payload) < 9:
                    continue
                client["seen"] += 1
                if client["seen"] <= skip:
                    continue
                if arrival is None:
                    raise RuntimeError("a read without its SO_TIMESTAMPNS time")
                stamp = struct.unpack_from(">d", payload, 1)[0]
                latencies.append((arrival - stamp) * 1000)
            last = time.monotonic()
    print(json.dumps({"latencies": latencies, "frames": len(latencies)}), flush=True)
    for sock, _ in clients:
        sock.close()


main()
