// Child process of sqlite-metadata-store.test.ts: appends audit records and races on
// version numbers against its siblings through its own connection to the same file.
// Usage: <db path> <label> <appends> <artifact id>
import { ConflictError } from '../../src/domain/errors.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';
import { chainOf } from './metadata-store.contract.js';

const [path, label, appends, artifactId] = process.argv.slice(2);
const store = openSqliteStore(path!);
let conflicts = 0;
let created = 0;
for (let i = 0; i < Number(appends); i++) {
  await store.appendAudit((tail) => chainOf(tail, 1 + (i % 2), `${label}-${i}`));
  const next = (await store.latestVersionNumber(artifactId!)) + 1;
  try {
    await store.createVersion({
      id: `ver_${label}_${i}`,
      artifactId: artifactId!,
      number: next,
      sha256: '00'.repeat(32),
      size: 1,
      mediaType: 'application/octet-stream',
      createdBy: label!,
      createdAt: Date.now(),
      blobKey: `objects/${label}-${i}`,
      wrappedKey: new Uint8Array([1]),
      keyTerm: 1,
    });
    created++;
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    conflicts++;
  }
}
await store.close();
process.stdout.write(JSON.stringify({ created, conflicts }));
