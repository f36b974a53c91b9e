import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { abortOnDisconnect } from './disconnect.js';

/** A server whose one handler records the signal; `respond` decides what it answers. */
async function withServer(respond: (req: IncomingMessage, res: ServerResponse) => void, client: (port: number) => Promise<void>): Promise<AbortSignal> {
  let signal: AbortSignal | undefined;
  const closed = new Promise<void>((resolve) => {
    const server = createServer((req, res) => {
      signal = abortOnDisconnect(req, res).signal;
      res.once('close', () => setImmediate(() => server.close(() => resolve())));
      respond(req, res);
    });
    server.listen(0, '127.0.0.1', () => void client((server.address() as AddressInfo).port));
  });
  await closed;
  return signal!;
}

void it('is not aborted when the response ends normally', async () => {
  const signal = await withServer(
    (_req, res) => res.end('ok'),
    async (port) => {
      const req = request({ port, host: '127.0.0.1', path: '/', agent: false });
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.resume();
      await once(res, 'end');
    },
  );
  assert.equal(signal.aborted, false);
});

void it('is aborted when the client leaves in the middle of the response', async () => {
  const signal = await withServer(
    (_req, res) => res.write(Buffer.alloc(1024)), // never ended
    async (port) => {
      const req = request({ port, host: '127.0.0.1', path: '/', agent: false });
      req.end();
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.once('data', () => req.destroy());
      req.once('error', () => undefined);
    },
  );
  assert.equal(signal.aborted, true);
});

void it('is aborted when the client leaves before its request body arrived', async () => {
  const signal = await withServer(
    (req) => req.resume(),
    async (port) => {
      const req = request({ port, host: '127.0.0.1', path: '/', method: 'POST', agent: false, headers: { 'content-length': '100' } });
      req.once('error', () => undefined);
      req.write(Buffer.alloc(10));
      setTimeout(() => req.destroy(), 50);
    },
  );
  assert.equal(signal.aborted, true);
});
