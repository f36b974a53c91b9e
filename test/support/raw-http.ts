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
