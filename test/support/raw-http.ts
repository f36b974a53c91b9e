import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** A raw TCP connection to a server, for requests no well-behaved client would send. */
export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far (latin1, so bytes survive). */
  received(): string;
  /** Resolves when the connection is fully closed. */
  closed: Promise<void>;
  /** Writes and waits until the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void>;
}

/** Opens a TCP connection to the host and port of `url`. */
export function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let received = '';
    socket.on('data', (b: Buffer) => (received += b.toString('latin1')));
    // a reset by the server is one of the expected ends here
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => received,
        closed,
        write: (data) => new Promise<void>((res, rej) => socket.write(data, (err) => (err ? rej(err) : res()))),
      }),
    );
    socket.once('error', reject);
  });
}

/** The head of an HTTP/1.1 request (ends with the blank line). */
export function requestHead(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** Status codes of every HTTP response found in raw response text, in order. */
export function statusCodes(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** One whole HTTP response read off a raw connection. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends `head` and `body` on a fresh connection and reads one whole response (by its
 * Content-Length, or until the server closes); closes the connection. Rejects after `timeoutMs`.
 */
export async function rawExchange(url: string, head: string, body: Buffer = Buffer.alloc(0), timeoutMs = 15_000): Promise<RawResponse> {
  const conn = await openRaw(url);
  try {
    await conn.write(head);
    if (body.length > 0) await conn.write(body);
    return await new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no whole response in ${timeoutMs} ms: ${conn.received().slice(0, 200)}`)), timeoutMs);
      const check = (ended: boolean) => {
        const text = conn.received();
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) {
          if (ended) reject(new Error(`connection closed before a response: ${text.slice(0, 200)}`));
          return;
        }
        const lines = text.slice(0, end).split('\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
        const got = Buffer.from(text.slice(end + 4), 'latin1');
        if ((length !== null && got.length >= length) || ended) {
          clearTimeout(timer);
          resolve({ status, headers, body: length === null ? got : got.subarray(0, length) });
        }
      };
      conn.socket.on('data', () => check(false));
      conn.socket.once('close', () => check(true));
      check(false);
    });
  } finally {
    conn.socket.destroy();
  }
}
