import type { CheckpointWitness, WitnessedCheckpoint } from '../../audit/checkpoint-witness.js';
import type { AlertSink } from './alert-sink.js';

/**
 * A remote witness of audit checkpoints over an alert sink (the signed webhook, or
 * syslog): each checkpoint is sent as a `coffer.audit-checkpoint` notice with the
 * public key that verifies it. The receiver keeps a copy the host cannot take back.
 */
export class NoticeWitness implements CheckpointWitness {
  readonly name: string;

  constructor(
    private readonly sink: AlertSink,
    private readonly publicKey: string,
  ) {
    this.name = sink.name;
  }

  append(cp: WitnessedCheckpoint): Promise<void> {
    return this.sink.send({ type: 'coffer.audit-checkpoint', version: 1, publicKey: this.publicKey, checkpoint: { seq: cp.seq, hash: cp.hash, signature: cp.signature, time: cp.time, node: cp.node } });
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}
