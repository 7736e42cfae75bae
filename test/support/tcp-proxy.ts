/**
 * A TCP proxy on loopback between a real driver and its real server, for fault tests. Armed with faults, it
 * acts on the next requests clients send, one fault per request, once the connection's handshake is done
 * (a request runs from a client's first bytes after an answer to the end of the next answer):
 * - `drop-request`: part of the request's bytes reach the server, then the connection is cut mid-statement;
 * - `lose-answer`: the request reaches the server, which executes it; the answer is swallowed and the
 *   connection cut once the server has finished answering.
 * Where answers end is protocol-specific: the caller passes a scanner (see {@link postgresAnswerScanner}) that
 * reads the server's byte stream across chunks and reports where each answer ends.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyFault = 'drop-request' | 'lose-answer';
/** A fault, or `pass` to let one request through untouched (to reach the second statement of a call). */
export type ProxyStep = ProxyFault | 'pass';

/** Reads a server's byte stream chunk by chunk; returns the offset just past each complete answer in `chunk`. */
export type AnswerScanner = (chunk: Buffer) => number[];

export interface TcpProxy {
  port: number;
  /** Injects `steps` into the next requests, one each, in order. */
  arm(...steps: ProxyStep[]): void;
  /** Steps not yet taken. */
  readonly pending: readonly ProxyStep[];
  /** Faults injected so far, by kind. */
  readonly injected: Record<ProxyFault, number>;
  /** For each dropped request: bytes forwarded to the server before the cut, and the bytes of that chunk. */
  readonly dropped: { forwarded: number; of: number }[];
  /** Client connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(upstreamHost: string, upstreamPort: number, newScanner: () => AnswerScanner): Promise<TcpProxy> {
  const queue: ProxyStep[] = [];
  const injected: Record<ProxyFault, number> = { 'drop-request': 0, 'lose-answer': 0 };
  const dropped: { forwarded: number; of: number }[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    const scan = newScanner();
    // The first complete answer ends the handshake; until then, nothing is faulted.
    let ready = false;
    // A request runs from the client's first chunk after an answer to the end of the next answer.
    let inRequest = false;
    let losing = false;
    let cut = false;
    const kill = () => {
      cut = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      if (ready && !inRequest) {
        inRequest = true;
        const fault = queue.shift();
        if (fault === 'drop-request') {
          injected['drop-request']++;
          // Forward part of the statement, so the server sees a message begin, then cut the connection.
          const forwarded = Math.max(1, Math.floor(chunk.length / 2));
          dropped.push({ forwarded, of: chunk.length });
          cut = true;
          upstream.write(chunk.subarray(0, forwarded), () => setTimeout(kill, 5));
          return;
        }
        if (fault === 'lose-answer') {
          injected['lose-answer']++;
          losing = true;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cut) return;
      const ends = scan(chunk);
      if (!ready) {
        if (ends.length > 0) ready = true;
        client.write(chunk);
        return;
      }
      if (losing) {
        // Swallow the answer; once the server says it is done, cut the client off.
        if (ends.length > 0) kill();
        return;
      }
      if (ends.length > 0) inRequest = false;
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
    arm(...steps) {
      queue.push(...steps);
    },
    get pending() {
      return [...queue];
    },
    injected,
    dropped,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * PostgreSQL, server to client: every message is a type byte and a 4-byte length (which counts itself), and
 * an answer ends with ReadyForQuery ('Z', length 5, a status byte). The scanner keeps the partial header
 * and the bytes still owed by the current message across chunks, so a 'Z' split over two chunks, or
 * followed by more bytes in its chunk, is found, and 'Z' bytes inside other messages are not.
 * Assumes the client did not ask for TLS (whose one-byte answer precedes the messages).
 */
export function postgresAnswerScanner(): AnswerScanner {
  const header = Buffer.alloc(5);
  let headerBytes = 0;
  let owed = 0;
  let type = 0;
  return (chunk) => {
    const ends: number[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (owed > 0) {
        const take = Math.min(owed, chunk.length - i);
        owed -= take;
        i += take;
        if (owed === 0 && type === 0x5a) ends.push(i);
        continue;
      }
      header[headerBytes++] = chunk[i++] as number;
      if (headerBytes < 5) continue;
      headerBytes = 0;
      type = header[0] as number;
      const length = header.readInt32BE(1);
      if (length < 4) throw new Error(`postgres stream out of step: message ${String.fromCharCode(type)} with length ${length}`);
      owed = length - 4;
      if (owed === 0 && type === 0x5a) ends.push(i);
    }
    return ends;
  };
}

/**
 * Redis (RESP2, and RESP3's aggregate and blob types), server to client: an answer is one value; a simple value is
 * one line, a bulk string a length line and that many bytes plus CRLF, an array a count line and that many values.
 * The scanner keeps the partial line, the bulk bytes still owed and the values still owed by each open array across
 * chunks.
 */
export function redisAnswerScanner(): AnswerScanner {
  let line = '';
  let owed = 0;
  const open: number[] = [];
  return (chunk) => {
    const ends: number[] = [];
    const valueDone = (at: number) => {
      while (open.length > 0) {
        const left = (open.pop() as number) - 1;
        if (left > 0) {
          open.push(left);
          return;
        }
      }
      ends.push(at);
    };
    let i = 0;
    while (i < chunk.length) {
      if (owed > 0) {
        const take = Math.min(owed, chunk.length - i);
        owed -= take;
        i += take;
        if (owed === 0) valueDone(i);
        continue;
      }
      const byte = chunk[i++] as number;
      if (byte !== 0x0a) {
        line += String.fromCharCode(byte);
        continue;
      }
      const type = line[0];
      const n = Number(line.slice(1, -1));
      line = '';
      if (type === '$' || type === '=' || type === '!') {
        if (n < 0) valueDone(i);
        else owed = n + 2;
      } else if (type === '*' || type === '~' || type === '>' || type === '%') {
        const count = type === '%' ? 2 * n : n;
        if (count <= 0) valueDone(i);
        else open.push(count);
      } else {
        valueDone(i);
      }
    }
    return ends;
  };
}
