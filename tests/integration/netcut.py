"""A TCP proxy whose connections a test can reset: a network blip between one process and RabbitMQ.

Point a process's AMQP_URI at ``proxy.port``; ``cut()`` then aborts every connection it carries
(TCP RST both ways, so the broker reclaims unacked messages at once and the process's next write
fails), while new connections are accepted as before, so the process can reconnect.
One thread runs a select loop; ``cut()`` asks it to do the cutting so no socket is closed under a
blocked call.
"""
from __future__ import annotations

import select
import socket
import struct
import threading

from tests.support.servers import free_port

_ABORT = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN


class CuttableProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.port = free_port()
        self._listener = socket.create_server((host, self.port))
        self._peer: dict[socket.socket, socket.socket] = {}
        self._cut_requests: list[threading.Event] = []
        self._lock = threading.Lock()
        self._closing = False
        self.cuts = 0
        self._thread = threading.Thread(target=self._loop, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    def uri(self, user: str = "guest", password: str = "guest") -> str:
        return f"amqp://{user}:{password}@{self.target[0]}:{self.port}/"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._peer) // 2

    def cut(self, timeout: float = 5.0) -> None:
        done = threading.Event()
        with self._lock:
            self._cut_requests.append(done)
        if not done.wait(timeout):
            raise TimeoutError("the proxy loop did not cut in time")

    def close(self) -> None:
        self._closing = True
        self._thread.join(5)

    # -- the loop ---------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._closing:
                with self._lock:
                    requests, self._cut_requests = self._cut_requests, []
                    sockets = [self._listener, *self._peer]
                if requests:
                    self._abort_all()
                    self.cuts += 1
                    for done in requests:
                        done.set()
                    continue
                readable, _, _ = select.select(sockets, [], [], 0.02)
                for sock in readable:
                    if sock is self._listener:
                        self._accept()
                    else:
                        self._forward(sock)
        finally:
            self._abort_all()
            self._listener.close()

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _abort(client)
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._peer[client] = upstream
            self._peer[upstream] = client

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peer.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        self._drop(sock)  # one side closed: close the other as well

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            peer = self._peer.pop(sock, None)
            if peer is not None:
                self._peer.pop(peer, None)
        for s in (sock, peer):
            if s is not None:
                s.close()

    def _abort_all(self) -> None:
        with self._lock:
            sockets, self._peer = list(self._peer), {}
        for sock in sockets:
            _abort(sock)


def _abort(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORT)
    except OSError:
        pass
    sock.close()
