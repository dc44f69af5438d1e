#!/usr/bin/python3
"""Records a TPM's side of a conversation as a seed for the `tpm` fuzz target.

    capture-tpm-seed.py LISTEN_PORT SWTPM_PORT OUTPUT

Relays raw TPM 2.0 commands from 127.0.0.1:LISTEN_PORT to swtpm on 127.0.0.1:SWTPM_PORT, one
client at a time, and appends each response to OUTPUT behind a 2-byte big-endian length (the
format FuzzTargets.swift's fuzzTPM reads). Prints "ready" once listening; runs until killed.
"""
import socket
import struct
import sys


def read_exactly(sock, count):
    data = b''
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_message(sock):
    header = read_exactly(sock, 10)
    size = struct.unpack('>I', header[2:6])[0]
    return header + read_exactly(sock, size - 10)


def main():
    listen_port, upstream_port, output = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', listen_port))
    server.listen(1)
    print('ready', flush=True)
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection(('127.0.0.1', upstream_port))
        try:
            while True:
                command = read_message(client)
                upstream.sendall(command)
                response = read_message(upstream)
                with open(output, 'ab') as out:
                    out.write(struct.pack('>H', len(response)) + response)
                client.sendall(response)
        except (EOFError, ConnectionError):
            pass
        finally:
            client.close()
            upstream.close()


if __name__ == '__main__':
    main()
