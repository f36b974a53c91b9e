import type { ScopedFindings } from './findings.js';
import { PullDriver, type Parser } from './pull-driver.js';
import type { StreamScanner } from './stream-scanner.js';

/**
 * A StreamScanner running a generator parser. A parser that throws (a bug, never an
 * input's fault) ends its scan with a `scanner-error` finding: the verdict is
 * unscannable, never clean.
 */
export class DriverScanner implements StreamScanner {
  private readonly driver: PullDriver;
  private reported = false;

  constructor(
    private readonly findings: ScopedFindings,
    parser: (driver: PullDriver) => Parser,
  ) {
    this.driver = new PullDriver(parser);
    this.check();
  }

  get done(): boolean {
    return this.driver.finished;
  }

  write(chunk: Uint8Array): void {
    this.driver.write(chunk);
    this.check();
  }

  end(): void {
    this.driver.end();
    this.check();
  }

  private check(): void {
    if (this.driver.error !== null && !this.reported) {
      this.reported = true;
      const err = this.driver.error;
      this.findings.add('scanner-error', { offset: this.driver.offset }, err instanceof Error ? err.message.slice(0, 200) : 'scanner failed');
    }
  }
}
