/** The server side of the chaos audit and the netns check: per-sender audits, in-order publishing. */
import { describe, expect, it } from 'vitest';
import { InOrderPublisher, SenderAudits } from '../src/chaos/server-audit.js';

describe('SenderAudits', () => {
  it('audits each sender of { from, n } on its own and ignores anything else', () => {
    const audits = new SenderAudits();
    for (const data of [
      { from: 'a', n: 1 },
      { from: 'b', n: 1 },
      { from: 'a', n: 3 },
      { from: 'a', n: 2 },
      { from: 'a', n: 3 },
      { n: 4 },
      { from: 'b' },
      'text',
      null,
    ]) {
      audits.record(data);
    }
    expect(audits.of('a').complete(3)).toBe(true);
    expect(audits.of('b').complete(2)).toBe(false);
    // A sender never heard from: complete only when it sent nothing.
    expect(audits.of('c').complete(0)).toBe(true);
    expect(audits.of('c').complete(1)).toBe(false);
    expect(
      audits.verdict([
        ['a', 3],
        ['b', 2],
        ['c', 1],
      ]),
    ).toEqual({ expected: 6, delivered: 4, lost: 2, duplicated: 1, reordered: 1, unexpected: 0 });
  });
});

describe('InOrderPublisher', () => {
  it('publishes 1, 2, 3, ... one at a time, in order, and counts refusals', async () => {
    const started: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const publisher = new InOrderPublisher(async (data) => {
      const n = (data as { n: number }).n;
      started.push(n);
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      // Later numbers settle sooner: only the chain keeps them in order.
      await new Promise((resolve) => setTimeout(resolve, 10 - n));
      inFlight -= 1;
      if (n === 2) throw new Error('refused');
    });
    for (let i = 0; i < 5; i += 1) publisher.next();
    expect(publisher.published).toBe(5);
    await publisher.settled();
    expect(started).toEqual([1, 2, 3, 4, 5]);
    expect(mostInFlight).toBe(1);
    expect(publisher.failed).toBe(1);
  });
});
