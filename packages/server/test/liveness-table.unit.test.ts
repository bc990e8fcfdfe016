/**
 * The liveness table (issue 13): the heartbeat sweep reads each connection's last
 * inbound traffic and next ping time from typed arrays and hands over only the
 * connections that may need it. Each test is a rule the sweep depends on: who is
 * handed over, slot reuse after a release, growth past the first arrays.
 */
import { describe, expect, it } from 'vitest';
import { LivenessTable } from '../src/liveness-table.js';

type Owner = { name: string };

function visited(table: LivenessTable<Owner>, now: number, quietMs: number): string[] {
  const seen: string[] = [];
  table.forEachDue(now, quietMs, (owner) => seen.push(owner.name));
  return seen;
}

describe('liveness table', () => {
  it('hands over the connections that are not open, have a ping due or were silent for quietMs, and no other', () => {
    const table = new LivenessTable<Owner>();
    const handshake = table.add({ name: 'handshake' }, 0);
    const idle = table.add({ name: 'idle' }, 0);
    const due = table.add({ name: 'due' }, 0);
    const silent = table.add({ name: 'silent' }, 0);
    for (const slot of [idle, due, silent]) table.setOpen(slot, true);
    table.setDue(idle, 2_000);
    table.setDue(due, 1_000);
    table.setDue(silent, 2_000);
    table.touch(idle, 900);
    table.touch(due, 900);
    expect(handshake).toBe(0);
    // At 1,000 with quietMs 1,000: `silent` was last seen at 0.
    expect(visited(table, 1_000, 1_000)).toEqual(['handshake', 'due', 'silent']);
    // Just before: nothing due, nobody silent for a full 1,000 ms.
    expect(visited(table, 999, 1_000)).toEqual(['handshake']);
    // Open no more (a close began): handed over at every pass.
    table.setOpen(idle, false);
    expect(visited(table, 999, 1_000)).toEqual(['handshake', 'idle']);
  });

  it('reuses a released slot, starting it afresh, and never hands over a released one', () => {
    const table = new LivenessTable<Owner>();
    const a = table.add({ name: 'a' }, 0);
    const b = table.add({ name: 'b' }, 0);
    table.setOpen(a, true);
    table.setDue(a, 50);
    table.release(a);
    table.release(a); // twice: still one free slot
    expect(table.size).toBe(1);
    expect(visited(table, 100, 1_000)).toEqual(['b']);
    const c = table.add({ name: 'c' }, 70);
    expect(c).toBe(a);
    expect(table.seen(c)).toBe(70);
    expect(table.due(c)).toBe(0);
    expect(visited(table, 100, 1_000)).toEqual(['c', 'b']);
    expect(table.add({ name: 'd' }, 0)).toBe(b + 1);
  });

  it('keeps every slot through growth past its first arrays', () => {
    const table = new LivenessTable<Owner>();
    const slots: number[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      const slot = table.add({ name: `o${i}` }, i);
      table.setOpen(slot, true);
      table.setDue(slot, 10_000 + i);
      slots.push(slot);
    }
    expect(table.size).toBe(1_000);
    for (let i = 0; i < 1_000; i += 1) {
      expect(table.seen(slots[i] as number)).toBe(i);
      expect(table.due(slots[i] as number)).toBe(10_000 + i);
    }
    // At 10,500: the first 501 are due; quietMs keeps the silent ones out.
    expect(visited(table, 10_500, 100_000)).toHaveLength(501);
  });
});
