import { createSocket, type Socket } from 'node:dgram';
import { hostname } from 'node:os';
import { ConfigInvalidError, StorageError } from '../../domain/errors.js';
import type { AlertSink, Notice } from './alert-sink.js';

/** Facility `authpriv` (10): security messages that should not reach world-readable logs. */
const FACILITY = 10;
const SEVERITY: Record<string, number> = { critical: 2, high: 3, medium: 4, low: 5 };

/** The RFC 5424 message of a notice: `<PRI>1 TIMESTAMP HOST coffer PID coffer-alert - JSON`. */
export function syslogMessage(notice: Notice, host = hostname(), pid = process.pid): string {
  // a reminder or a checkpoint is routine: severity notice (5)
  const pri = FACILITY * 8 + (notice.type === 'coffer.alert' ? (SEVERITY[notice.alert.severity] ?? 5) : 5);
  const safeHost = host.replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  const [time, msgId] =
    notice.type === 'coffer.alert' ? [notice.alert.createdAt, 'coffer-alert'] : notice.type === 'coffer.review-reminder' ? [notice.sentAt, 'coffer-review-reminder'] : [notice.checkpoint.time, 'coffer-audit-checkpoint'];
  return `<${pri}>1 ${time} ${safeHost} coffer ${pid} ${msgId} - ${JSON.stringify(notice)}`;
}

/** Sends each alert as one RFC 5424 datagram to a syslog receiver (`udp://host:port`). */
export class SyslogAlertSink implements AlertSink {
  readonly name = 'syslog';
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | null = null;

  constructor(target: string) {
    const m = /^udp:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(target);
    if (m === null || Number(m[2]) > 65535) throw new ConfigInvalidError(`monitor syslog target \`${target.slice(0, 100)}\` must be udp://HOST:PORT`);
    this.#host = m[1]!.replace(/^\[|\]$/g, '');
    this.#port = Number(m[2]);
  }

  async send(notice: Notice): Promise<void> {
    const socket = (this.#socket ??= createSocket(this.#host.includes(':') ? 'udp6' : 'udp4'));
    socket.unref();
    const message = Buffer.from(syslogMessage(notice), 'utf8');
    await new Promise<void>((resolve, reject) => {
      socket.send(message, this.#port, this.#host, (err) => (err ? reject(new StorageError('syslog send failed', { cause: err })) : resolve()));
    });
  }

  async close(): Promise<void> {
    const s = this.#socket;
    this.#socket = null;
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
