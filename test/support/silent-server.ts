/**
 * A loopback server that accepts connections and never answers (a silent endpoint, README safety: "Fail closed, and every call settles"), and a
 * timer for the calls made against it.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';

export interface SilentServer {
  port: number;
  /** Connections the clients still hold open (a request given up on but not aborted keeps its socket). */
  openSockets(): number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    // Reads (and drops) what arrives, so that a client closing the connection is noticed; never answers.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    openSockets: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `call`; resolves with its error's code (if it failed) and how long it took, ms. */
export async function timedCall(call: () => Promise<unknown>): Promise<{ code: unknown; ms: number }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { code: (error as { code?: unknown } | undefined)?.code, ms: performance.now() - started };
}
