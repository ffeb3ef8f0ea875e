import type { IncomingMessage, Server } from 'node:http';

/** The first value of a request header (Node joins or arrays repeated ones; these servers read the first). */
export function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The request body as UTF-8, read to its end but kept only up to `maxBytes`: beyond that it rejects with
 * `tooLarge()` once the client has sent everything, so the answer (413, in each product's own error shape) is read
 * by the client instead of racing a reset.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => (size > maxBytes ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/**
 * Stops a loopback server at once: the SDKs' and clients' keep-alive sockets would otherwise hold `close()` until
 * they time out. Closing a server that is already closed is not an error (afterAll hooks may run twice over one).
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) =>
      error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve(),
    );
    server.closeAllConnections();
  });
}
