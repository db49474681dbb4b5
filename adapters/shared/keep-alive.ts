/**
 * Idle keep-alive connections of the simulators.
 *
 * The SDK clients keep idle sockets for reuse: google-gax's REST transport uses an
 * `http.Agent({ keepAlive: true })` with no idle timeout, and gaxios (BigQuery) uses Node's global
 * agent. Node's HTTP server closes a connection after 5 s (plus a 1 s buffer) without a request
 * (`keepAliveTimeout`).
 * When the client's event loop is busy at that moment (constructing an aiplatform client parses a
 * 4 MB proto file; on a loaded machine that takes seconds), the client sends its next request on
 * a socket the server is closing and gets `ECONNRESET`, which the engines then retry and log.
 *
 * The cause is the server closing connections the client still owns, so the simulators never
 * close an idle connection: the client decides when a socket is done (its agent closes it or its
 * process exits), and `close()` of a simulator destroys what is left.
 *
 * @see https://nodejs.org/docs/latest-v20.x/api/http.html#serverkeepalivetimeout
 */
import type { Server } from 'node:http';

/** Let clients own their idle keep-alive connections (0 disables the server's idle timeout). */
export function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = 0;
}
