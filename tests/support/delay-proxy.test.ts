import net from 'node:net';
import { DelayProxy } from './delay-proxy';

/** An echo server that also records what it received. */
async function echoServer(): Promise<{ server: net.Server; port: number; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      socket.write(chunk);
    });
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, received: () => Buffer.concat(chunks) };
}

test('bytes cross intact and in order both ways, and an end from the client closes through', async () => {
  const echo = await echoServer();
  const proxy = await DelayProxy.start(echo.port, 20);
  try {
    const sent = Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.alloc(997, i % 251)));
    const socket = net.connect(proxy.port, '127.0.0.1');
    const back: Buffer[] = [];
    socket.on('data', (chunk) => back.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // Many small writes: each becomes a chunk with its own delay, which must not reorder them.
    for (let i = 0; i < sent.length; i += 997) socket.write(sent.subarray(i, i + 997));
    socket.end();
    await closed;
    expect(echo.received().equals(sent)).toBe(true);
    expect(Buffer.concat(back).equals(sent)).toBe(true);
    expect(proxy.connectionCount).toBe(1);
    expect(proxy.events.filter((e) => e.direction === 'up').reduce((n, e) => n + e.bytes, 0)).toBe(sent.length);
  } finally {
    await proxy.close();
    echo.server.close();
  }
});

test('a target that is not listening resets the client', async () => {
  const unused = await echoServer();
  const port = unused.port;
  await new Promise<void>((resolve) => unused.server.close(() => resolve()));
  const proxy = await DelayProxy.start(port, 10);
  try {
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(socket.destroyed).toBe(true);
  } finally {
    await proxy.close();
  }
});
