/**
 * The server side of an audit (the chaos audit, the netns check's server child): the
 * numbered messages `{ from, n }` each client sent, audited per sender, and numbered
 * publications `{ n }` issued one at a time so their numbering is their order.
 */
import type { Json } from '@tether/protocol';
import { auditNumber } from './audited-client.js';
import { SequenceAudit, type SequenceVerdict, sumVerdicts } from './sequence-audit.js';

/** The numbered messages received from each sender. */
export class SenderAudits {
  private readonly bySender = new Map<string, SequenceAudit>();

  /** Records a message `{ from, n }`; anything else is not an audited message. */
  record(data: Json | undefined): void {
    const from =
      typeof data === 'object' && data !== null && !Array.isArray(data) ? data.from : undefined;
    const n = auditNumber(data);
    if (typeof from !== 'string' || n === undefined) return;
    let audit = this.bySender.get(from);
    if (audit === undefined) {
      audit = new SequenceAudit();
      this.bySender.set(from, audit);
    }
    audit.record(n);
  }

  /** The audit of `name`'s messages (an empty one when nothing came from it). */
  of(name: string): SequenceAudit {
    return this.bySender.get(name) ?? new SequenceAudit();
  }

  /** The verdict over `sent`: each sender's name and how many messages it sent. */
  verdict(sent: ReadonlyArray<readonly [name: string, count: number]>): SequenceVerdict {
    return sumVerdicts(sent.map(([name, count]) => this.of(name).verdict(count)));
  }
}

/**
 * Publishes `{ n }` for n = 1, 2, 3, ... one at a time: each publish starts when the one
 * before has settled, so a slow store cannot reorder the numbering. Refusals are counted
 * (each one is lost to every subscriber).
 */
export class InOrderPublisher {
  private chain: Promise<void> = Promise.resolve();
  private issued = 0;
  private refused = 0;

  constructor(private readonly publish: (data: Json) => Promise<unknown>) {}

  /** The highest number issued. */
  get published(): number {
    return this.issued;
  }

  /** Publishes refused so far. */
  get failed(): number {
    return this.refused;
  }

  /** Issues the next number; it is published once every earlier one has settled. */
  next(): void {
    this.issued += 1;
    const n = this.issued;
    this.chain = this.chain.then(() =>
      this.publish({ n }).then(
        () => {},
        () => {
          this.refused += 1;
        },
      ),
    );
  }

  /** Resolves once every number issued so far has settled. */
  settled(): Promise<void> {
    return this.chain;
  }
}
