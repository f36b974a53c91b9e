import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An AbortController aborted when the client goes away: before its request body
 * arrived whole, or before the response finished. Never after a normal end: an abort
 * builds a DOMException with a stack trace, a cost not worth paying on every request.
 */
export function abortOnDisconnect(req: IncomingMessage, res: ServerResponse): AbortController {
  const controller = new AbortController();
  req.once('close', () => {
    if (!req.complete) controller.abort();
  });
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}
