import type { ChangeNotifications } from '../sql/sql-change-feed.js';
import { CHANGE_CHANNEL } from '../sql/sql-change-feed.js';
import { PgSession } from './pg-session.js';

/** PostgreSQL LISTEN on the change feed's channel, on a dedicated connection that reconnects. */
export function pgNotifications(url: string, warn: (message: string, detail: Record<string, unknown>) => void): ChangeNotifications {
  let session: PgSession | null = null;
  return {
    async start(onPayload, onReconnect) {
      session = new PgSession(url, {
        name: 'change-feed',
        warn,
        onConnect: async (client) => {
          client.on('notification', (n) => {
            if (n.channel === CHANGE_CHANNEL && n.payload !== undefined) onPayload(n.payload);
          });
          await client.query(`LISTEN ${CHANGE_CHANNEL}`);
          onReconnect();
        },
        onLost: () => undefined,
      });
      await session.start();
    },
    async close() {
      await session?.close();
    },
  };
}
