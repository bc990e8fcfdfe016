import { SERVER_DEFAULTS } from './defaults.js';
import type { ReliableAnswer } from './session.js';

/**
 * The client -> server half of a session's reliable delivery ("processed once"): the
 * sequence numbers claimed, processed and committed to the store, whether a commit is
 * running, and the answers kept for resends. Built by the {@link Session} with the first
 * reliable frame, or for a stored session that processed some already: a session whose
 * client never sends one (most of them) holds none, only the zeros it stands for.
 */
export class SessionInbound {
  /** Highest client seq processed (handler finished), in memory. */
  private processedSeq: number;
  /** Highest client seq accepted for processing (queued or running). */
  private claimedSeq: number;
  /** Highest client seq committed to the store: what acks and `welcome.ack` say. */
  private persistedSeq: number;
  private persisting = false;
  /**
   * Answers of reliable frames by seq, oldest first, at most `sessionMaxAnswers`: a frame
   * resent after its answer was lost gets the same answer (the same offset) again.
   * Allocated with the first answer.
   */
  private answers: Map<number, ReliableAnswer> | undefined = undefined;

  constructor(inSeq: number) {
    this.processedSeq = inSeq;
    this.claimedSeq = inSeq;
    this.persistedSeq = inSeq;
  }

  get processed(): number {
    return this.processedSeq;
  }

  get claimed(): number {
    return this.claimedSeq;
  }

  get persisted(): number {
    return this.persistedSeq;
  }

  /** Whether a commit of `processed` is on its way to the store. */
  get busy(): boolean {
    return this.persisting;
  }

  /** The store's `inSeq`, which another process may have moved on: counters only move forward. */
  refresh(inSeq: number): void {
    this.processedSeq = Math.max(this.processedSeq, inSeq);
    this.claimedSeq = Math.max(this.claimedSeq, inSeq);
    this.persistedSeq = Math.max(this.persistedSeq, inSeq);
  }

  /** `seq` (the next after `claimed`) is accepted for processing. */
  claim(seq: number): void {
    this.claimedSeq = seq;
  }

  /** The handler of `seq` finished; false when `seq` is not the next to process. */
  markProcessed(seq: number): boolean {
    if (seq !== this.processedSeq + 1) return false;
    this.processedSeq = seq;
    return true;
  }

  /** `seq` failed or was dropped at run time: it and what was claimed after it may come again. */
  failed(seq: number): void {
    if (this.claimedSeq >= seq) this.claimedSeq = Math.max(this.processedSeq, seq - 1);
  }

  /** Starts a commit: the seq to store, or undefined when one runs or nothing is new. */
  beginCommit(): number | undefined {
    if (this.persisting || this.processedSeq <= this.persistedSeq) return undefined;
    this.persisting = true;
    return this.processedSeq;
  }

  /** The commit ended; `target` when it stored that seq. True when `persisted` moved. */
  endCommit(target?: number): boolean {
    this.persisting = false;
    if (target === undefined || target <= this.persistedSeq) return false;
    this.persistedSeq = target;
    return true;
  }

  /** Keeps the answer of `seq` (the oldest goes past `sessionMaxAnswers`). */
  remember(seq: number, frame: ReliableAnswer): void {
    this.answers ??= new Map();
    this.answers.set(seq, frame);
    if (this.answers.size > SERVER_DEFAULTS.sessionMaxAnswers) {
      const oldest = this.answers.keys().next().value;
      if (oldest !== undefined) this.answers.delete(oldest);
    }
  }

  answerFor(seq: number): ReliableAnswer | undefined {
    return this.answers?.get(seq);
  }
}
