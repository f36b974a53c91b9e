import { runBlobStoreContract } from './blob-store.contract.js';
import { emptyPrefix, openTestS3Store, requireS3TestServer, s3Skip } from '../support/s3-server.js';

// The BlobStore contract on a real S3 server (Ceph RGW from scripts/ceph-rgw.sh in CI),
// with 5 MiB parts so the large-object tests take the multipart path. Residue = multipart
// uploads left incomplete under the store's prefix.
runBlobStoreContract(
  's3 (real server)',
  async () => {
    const server = requireS3TestServer();
    const { store, prefix } = await openTestS3Store(server, 'contract');
    return {
      store,
      largeObjectSize: 12 * 1024 * 1024 + 123,
      residue: async () => (await store.incompleteUploads()).map((u) => u.key),
      cleanup: async () => {
        await emptyPrefix(server, store, prefix);
        store.close();
      },
    };
  },
  { skip: s3Skip() },
);
