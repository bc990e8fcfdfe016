import type { Json } from '@tether/protocol';
import { DEFAULT_TOPIC_RULE, type TopicRule } from './config-types.js';

/** The `topics` claim of a token: patterns the holder may publish and subscribe to. */
export interface TopicClaims {
  publish?: string[];
  subscribe?: string[];
}

/** How a connection got in, as kept in its `data` by the hub's authenticate hook. */
export type ConnectionAuth =
  | { auth: 'jwt'; topics?: TopicClaims }
  | { auth: 'anonymous' }
  | { auth: 'insecure' };

/** What a client wants to do with a topic. */
export type TopicAction = 'publish' | 'subscribe';

/**
 * Whether `topic` matches `pattern`: `*` matches everything, `prefix*` every topic that
 * starts with `prefix`, anything else only itself.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern.endsWith('*')) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}

/**
 * Decides topic access from the configured namespaces and the token's claims:
 * the most specific namespace matching the topic (exact name, then the longest
 * `prefix*`, then `*`; none: both permissions `authenticated`) gives the level; level
 * `authenticated` also needs the token's `topics` claim to allow the topic when the
 * token has one.
 */
export class TopicAccess {
  private readonly exact = new Map<string, TopicRule>();
  /** Prefix rules, longest prefix first. */
  private readonly prefixes: Array<{ prefix: string; rule: TopicRule }> = [];

  constructor(rules: Readonly<Record<string, TopicRule>>) {
    for (const [pattern, rule] of Object.entries(rules)) {
      if (pattern.endsWith('*')) this.prefixes.push({ prefix: pattern.slice(0, -1), rule });
      else this.exact.set(pattern, rule);
    }
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The rule that applies to `topic`. */
  ruleFor(topic: string): TopicRule {
    const exact = this.exact.get(topic);
    if (exact !== undefined) return exact;
    for (const { prefix, rule } of this.prefixes) if (topic.startsWith(prefix)) return rule;
    return DEFAULT_TOPIC_RULE;
  }

  /** Whether a connection authenticated as `auth` may do `action` on `topic`. */
  allows(action: TopicAction, topic: string, auth: ConnectionAuth): boolean {
    const level = this.ruleFor(topic)[action];
    if (level === 'none') return false;
    if (level === 'anyone') return true;
    if (auth.auth === 'insecure') return true;
    if (auth.auth !== 'jwt') return false;
    if (auth.topics === undefined) return true;
    return auth.topics[action]?.some((pattern) => topicMatches(pattern, topic)) ?? false;
  }
}

/** Reads the {@link ConnectionAuth} the hub stored in a connection's `data`. */
export function connectionAuth(data: Readonly<Record<string, Json>> | undefined): ConnectionAuth {
  const kind = data?.auth;
  if (kind === 'insecure') return { auth: 'insecure' };
  if (kind !== 'jwt') return { auth: 'anonymous' };
  const topics = data?.topics;
  if (typeof topics !== 'object' || topics === null || Array.isArray(topics))
    return { auth: 'jwt' };
  const list = (value: Json | undefined): string[] | undefined =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
  const claims: TopicClaims = {};
  const publish = list(topics.publish);
  const subscribe = list(topics.subscribe);
  if (publish !== undefined) claims.publish = publish;
  if (subscribe !== undefined) claims.subscribe = subscribe;
  return { auth: 'jwt', topics: claims };
}
