/**
 * Bench child: the baseline, a bare Node `http` server with no auth, policy, audit or
 * crypto. `GET /files/NAME` streams a plaintext file from disk with
 * `fs.createReadStream`; `POST /uploads/NAME` writes the body to a file and fsyncs it
 * before answering 201 (Coffer fsyncs too, so the comparison is fair).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { childInput, reportError, reportReady } from '../child.js';

/** Input of the bare server child. */
export interface BareServerInput {
  /** Directory whose files `GET /files/NAME` serves. */
  filesDir: string;
  /** Directory `POST /uploads/NAME` writes to. */
  uploadDir: string;
}

/** What the bare server reports once listening. */
export interface BareServerReady {
  url: string;
}

const input = childInput<BareServerInput>();

async function serveFile(name: string, res: ServerResponse): Promise<void> {
  // basename: the bench only ever asks for plain names; never leave the directory
  const path = join(input.filesDir, basename(name));
  const info = await stat(path);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(info.size) });
  await pipeline(createReadStream(path), res);
}

async function receiveFile(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = join(input.uploadDir, basename(name));
  // flush: fsync before the file is closed, and the pipeline settles only after the close
  await pipeline(req, createWriteStream(path, { mode: 0o600, flush: true }));
  const { size } = await stat(path);
  const body = JSON.stringify({ size });
  res.writeHead(201, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function fail(res: ServerResponse, status: number, err?: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(err instanceof Error ? err.message : 'error');
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://bench');
  const [, area, name] = url.pathname.split('/');
  let work: Promise<void>;
  if (req.method === 'GET' && area === 'files' && name) work = serveFile(decodeURIComponent(name), res);
  else if (req.method === 'POST' && area === 'uploads' && name) work = receiveFile(decodeURIComponent(name), req, res);
  else {
    fail(res, 404);
    return;
  }
  work.catch((err: unknown) => fail(res, 500, err));
});
server.keepAliveTimeout = 30_000;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  reportReady({ url: `http://127.0.0.1:${port}` } satisfies BareServerReady, {
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }).catch(reportError);
});
server.once('error', (err) => void reportError(err));
