/**
 * A TCP proxy on loopback that puts its target one simulated round trip away: every chunk waits RTT/2 in either
 * direction (order kept), and a new connection's first bytes to the target wait one more RTT, the time its TCP
 * handshake would have taken (the client's connect returns at once on loopback, so its first data is held instead).
 * TLS runs end to end through it, so TLS handshakes pay their round trips too. For the bench only: nothing here is
 * timed by a test.
 */
import net from 'node:net';

export interface ProxyEvent {
  /** Epoch milliseconds (fractional) when the bytes reached the proxy. */
  at: number;
  connection: number;
  direction: 'accept' | 'up' | 'down';
  bytes: number;
}

export class DelayProxy {
  /** What crossed the proxy, as it arrived (before its delay). */
  readonly events: ProxyEvent[] = [];
  private readonly sockets = new Set<net.Socket>();
  private connections = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetPort: number,
    readonly rttMs: number,
  ) {}

  static async start(targetPort: number, rttMs: number): Promise<DelayProxy> {
    // Half-open: an end from one side must reach the other after its delay, not close this side's writes at once.
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new DelayProxy(server, (server.address() as net.AddressInfo).port, targetPort, rttMs);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  private accept(client: net.Socket): void {
    const id = ++this.connections;
    const acceptedAt = performance.timeOrigin + performance.now();
    this.events.push({ at: acceptedAt, connection: id, direction: 'accept', bytes: 0 });
    const target = net.connect({ port: this.targetPort, host: '127.0.0.1', allowHalfOpen: true });
    for (const socket of [client, target]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        target.destroy();
      });
    }
    // The client's first bytes reach the target one RTT (the handshake) plus half an RTT after the accept.
    this.pipe(client, target, id, 'up', acceptedAt + this.rttMs);
    this.pipe(target, client, id, 'down', 0);
  }

  /** Forwards `from` to `to`, each chunk RTT/2 later and never before `notBefore`, in order; ends `to` likewise. */
  private pipe(from: net.Socket, to: net.Socket, connection: number, direction: 'up' | 'down', notBefore: number) {
    const clock = () => performance.timeOrigin + performance.now();
    // One queue and one timer per direction: separate timers of different lengths could fire out of order.
    const queue: Array<{ due: number; action: () => void }> = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0]!.due <= clock()) queue.shift()!.action();
      if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0]!.due - clock()));
    };
    const later = (action: () => void) => {
      queue.push({ due: Math.max(clock(), notBefore) + this.rttMs / 2, action });
      timer ??= setTimeout(drain, Math.max(0, queue[0]!.due - clock()));
    };
    from.on('data', (chunk: Buffer) => {
      this.events.push({ at: clock(), connection, direction, bytes: chunk.length });
      later(() => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('end', () => later(() => to.end()));
    from.on('close', () => later(() => to.destroy()));
  }

  /** Connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
