"""Run the backend in-process on a background thread (demos, notebooks)."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

from .server import BackendHTTPServer
from .state import MAX_BODY_BYTES, BackendApp, BackendConfig
from .storage import Storage


def _format_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class BackendServer:
    """The backend running in-process on a background thread.

    Example::

        with BackendServer() as srv:
            print(srv.url)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        api_key: str | None = None,
        org_id: str | None = None,
        discard: bool = False,
        verbose: bool = False,
        count_only: bool = False,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        """Configure (but do not start) a server.

        Args:
            host: Interface to bind; IPv6 literals are accepted.
            port: TCP port, 0 picks a free one.
            db: SQLite path or ``:memory:``.
            api_key: Require ``Authorization: Bearer <api_key>`` if set.
            org_id: Require ``X-Organization-Id: <org_id>`` if set.
            discard: Count trace exports without decoding/storing them.
            count_only: Decode trace exports and count their spans, storing nothing.
            verbose: Log every request to stderr.
            max_body: Maximum request body size in bytes.
        """
        self.host = host
        self._requested_port = port
        self.db = db
        self.config = BackendConfig(
            api_key=api_key,
            org_id=org_id,
            discard=discard,
            count_only=count_only,
            max_body=max_body,
            verbose=verbose,
        )
        self._httpd: BackendHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._app: BackendApp | None = None

    @property
    def app(self) -> BackendApp:
        """Shared state (storage, faults, counters, request log).

        Returns:
            The BackendApp.

        Raises:
            RuntimeError: If the server has not been started.
        """
        if self._app is None:
            raise RuntimeError("BackendServer not started")
        return self._app

    @property
    def port(self) -> int:
        """The bound TCP port.

        Returns:
            Port number.

        Raises:
            RuntimeError: If the server has not been started.
        """
        if self._httpd is None:
            raise RuntimeError("BackendServer not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43123``.

        Returns:
            The URL without a trailing slash.
        """
        return _format_url(self.host, self.port)

    def start(self) -> Self:
        """Bind the socket and start serving on a daemon thread.

        Returns:
            self, for chaining.
        """
        if self._httpd is not None:
            raise RuntimeError("BackendServer already started")
        storage = Storage(self.db)
        app = BackendApp(storage, self.config)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            httpd = BackendHTTPServer((self.host, self._requested_port), app, family)
        except BaseException:
            storage.close()
            raise
        self._app = app
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="judgeval-backend",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, drop open connections and close the database.

        Args:
            timeout: Seconds to wait for in-flight handlers to finish.
        """
        httpd, app, thread = self._httpd, self._app, self._thread
        if httpd is None or app is None:
            return
        app.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout)
        app.close_connections(timeout)
        app.storage.close()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        """Start the server on entering a ``with`` block.

        Returns:
            self.
        """
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the server on leaving a ``with`` block.

        Args:
            *exc: Exception info (ignored).
        """
        self.stop()
