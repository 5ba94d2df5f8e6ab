"""A loopback TCP proxy that loses the answers to chosen requests.

The request reaches the server in full and the server acts on it; only its answer never comes
back: the proxy closes the client's connection when the server starts to reply. That is what
a client sees when a loaded server answers after the client's timeout, or a network device drops
the connection: the work is done, the client does not know it.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class LossyProxy:
    def __init__(self, upstream: tuple[str, int], lose: bytes, times: int) -> None:
        self.upstream = upstream
        self.pattern = re.compile(lose)  # matched on the request line and headers
        self.left = times
        self.lost = 0  # answers lost so far
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._accepting.start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _shut(client)  # the server is down: so is the proxy's answer
                continue
            doomed = threading.Event()  # the request in flight on this connection is to lose its answer
            threading.Thread(target=self._requests, args=(client, server, doomed), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client, doomed), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket, doomed: threading.Event) -> None:
        tail = b""
        try:
            while data := client.recv(65536):
                seen = tail + data
                if not doomed.is_set() and self.pattern.search(seen):
                    with self._lock:
                        if self.left > 0:
                            self.left -= 1
                            doomed.set()
                tail = seen[-256:]
                server.sendall(data)
        except OSError:
            pass
        finally:
            _shut(server)

    def _answers(self, server: socket.socket, client: socket.socket, doomed: threading.Event) -> None:
        try:
            while data := server.recv(65536):
                if doomed.is_set():  # the server has done the work and answers: lose it
                    with self._lock:
                        self.lost += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            _shut(client)
            _shut(server)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def lossy_proxy(upstream: tuple[str, int], lose: bytes, times: int) -> Iterator[LossyProxy]:
    proxy = LossyProxy(upstream, lose, times)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
