import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The scaffolding every loopback server shares (the Kubernetes API server here, the AWS and provider servers in
 * tests/support): listening on an ephemeral loopback port, routing to an instance that exists only once the port is
 * known, and injected faults that match requests and wear off after `times`.
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Creates a server with `create` (node:http's or node:https's createServer, with its options bound), starts it on
 * 127.0.0.1 and an ephemeral port, then makes the instance that knows that port and routes requests to it. A request
 * that arrives before the instance exists (none should) is answered 503.
 */
export async function startOnLoopback<T>(
  create: (listener: RequestListener) => Server,
  make: (server: Server, port: number) => { instance: T; handle: Handler },
): Promise<T> {
  const route: { handle?: Handler } = {};
  const server = create((req, res) => {
    if (!route.handle) {
      res.writeHead(503).end();
      return;
    }
    void route.handle(req, res);
  });
  const made = make(server, await listenOnLoopback(server));
  route.handle = made.handle;
  return made.instance;
}

/** Starts `server` on 127.0.0.1 and an ephemeral port; resolves to the port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** What every injected fault has: which requests it applies to, and after how many it wears off. */
export interface FaultScope<R> {
  /** Which requests to affect (default: all). */
  match?: (request: R) => boolean;
  /** Number of matching requests to affect; then the fault clears itself. Omitted = until replaced or cleared. */
  times?: number;
}

/** One injected fault at a time: set (a copy, so `times` counts down on the server's own), matched, worn off. */
export class FaultSlot<F extends FaultScope<R>, R> {
  private active: F | undefined;

  set(fault: F | undefined): void {
    this.active = fault ? { ...fault } : undefined;
  }

  /** The fault for `request`, counting it against `times`; undefined when none applies. */
  take(request: R): F | undefined {
    const fault = this.active;
    if (!fault || (fault.match && !fault.match(request))) return undefined;
    if (fault.times !== undefined) {
      fault.times -= 1;
      if (fault.times <= 0) this.active = undefined;
    }
    return fault;
  }
}
