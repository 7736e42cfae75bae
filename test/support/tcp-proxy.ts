/**
 * A TCP proxy on loopback between a real driver and its real server, for fault tests. Armed with a fault,
 * it acts on the next request a client sends:
 * - `drop-request`: the connection dies mid-statement, before the server sees it;
 * - `lose-answer`: the request reaches the server, which executes it; the answer is dropped with the connection.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyFault = 'drop-request' | 'lose-answer';

export interface TcpProxy {
  port: number;
  /** Injects `fault` into the next request (one shot). */
  arm(fault: ProxyFault): void;
  /** Faults injected so far, by kind. */
  readonly injected: Record<ProxyFault, number>;
  close(): Promise<void>;
}

export async function startTcpProxy(upstreamHost: string, upstreamPort: number, isAnswerComplete: (chunk: Buffer) => boolean): Promise<TcpProxy> {
  let armed: ProxyFault | undefined;
  const injected: Record<ProxyFault, number> = { 'drop-request': 0, 'lose-answer': 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    let losing = false;
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      const fault = armed;
      if (fault === 'drop-request') {
        armed = undefined;
        injected['drop-request']++;
        kill();
        return;
      }
      if (fault === 'lose-answer') {
        armed = undefined;
        injected['lose-answer']++;
        losing = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (losing) {
        // Swallow the answer; once the server says it is done, cut the client off.
        if (isAnswerComplete(chunk)) kill();
        return;
      }
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', kill);
      s.on('close', () => {
        sockets.delete(s);
        kill();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy did not bind');
  return {
    port: address.port,
    arm(fault) {
      armed = fault;
    },
    injected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** PostgreSQL: an answer is complete at ReadyForQuery ('Z', length 5, status byte). */
export function postgresAnswerComplete(chunk: Buffer): boolean {
  for (let i = 0; i + 5 < chunk.length + 1; i++) {
    if (chunk[i] === 0x5a && chunk.readInt32BE(i + 1) === 5 && i + 6 === chunk.length) return true;
  }
  return false;
}
