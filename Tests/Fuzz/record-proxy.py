#!/usr/bin/env python3
"""A recording TCP relay for capturing real SCEP exchanges as fuzz seeds.

    record-proxy.py LISTEN_PORT TARGET_PORT OUTDIR

Listens on 127.0.0.1:LISTEN_PORT, relays each connection to 127.0.0.1:TARGET_PORT, and writes
what each side sent to OUTDIR/NNN.request and OUTDIR/NNN.response. Loopback only.
"""
import os, socket, sys, threading

listen_port, target_port, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(outdir, exist_ok=True)
counter = [0]
lock = threading.Lock()


def pump(source, sink, record):
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            data = b""
        if not data:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        record.append(data)
        sink.sendall(data)


def serve(client):
    with lock:
        counter[0] += 1
        number = counter[0]
    upstream = socket.create_connection(("127.0.0.1", target_port))
    request, response = [], []
    threads = [threading.Thread(target=pump, args=(client, upstream, request)),
               threading.Thread(target=pump, args=(upstream, client, response))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    upstream.close()
    for name, chunks in (("request", request), ("response", response)):
        with open(os.path.join(outdir, "%03d.%s" % (number, name)), "wb") as f:
            f.write(b"".join(chunks))


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(16)
print("ready", flush=True)
while True:
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
