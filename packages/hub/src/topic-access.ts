import type { Json } from '@tether/protocol';
import type { TopicRule } from './config-types.js';

/** The `topics` claim of a token: patterns the holder may publish and subscribe to. */
export interface TopicClaims {
  publish?: string[];
  subscribe?: string[];
}

/** How a connection got in, as kept in its `data` by the hub's authenticate hook. */
export type ConnectionAuth =
  | { auth: 'jwt'; user?: string; topics?: TopicClaims }
  | { auth: 'anonymous' }
  | { auth: 'insecure' };

/** What a client wants to do with a topic. */
export type TopicAction = 'publish' | 'subscribe';

/**
 * Whether a token without a `topics` claim may use `authenticated` namespaces:
 * `required` (the default) refuses it everywhere except its own `{sub}` topics;
 * `optional` lets it use every `authenticated` namespace.
 */
export type TopicsClaimPolicy = 'required' | 'optional';

/** Characters that end a topic segment: `user:alice*` stops at them. */
export const TOPIC_SEPARATORS = ':/.';

/** The placeholder of a namespace rule that stands for the connection's user (`user:{sub}`). */
export const SUB_PLACEHOLDER = '{sub}';

const isSeparator = (c: string | undefined): boolean =>
  c !== undefined && c !== '' && TOPIC_SEPARATORS.includes(c);

/**
 * Whether `topic` matches `pattern`: `*` matches everything; `prefix*` matches topics that
 * start with `prefix` at a segment boundary (`room:*` matches `room:a`; `user:alice*`
 * matches `user:alice` and `user:alice:inbox`, never `user:alicebob`); anything else
 * only itself. Segments end at `:`, `/` and `.`.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (!pattern.endsWith('*')) return pattern === topic;
  const prefix = pattern.slice(0, -1);
  if (prefix === '') return true;
  if (!topic.startsWith(prefix)) return false;
  if (isSeparator(prefix.at(-1))) return true;
  return topic.length === prefix.length || isSeparator(topic[prefix.length]);
}

/** One namespace rule, compiled. */
interface Namespace {
  rule: TopicRule;
  /** A pattern without `{sub}`. */
  pattern?: string;
  /** Around `{sub}`: the text before it and the pattern after it. */
  before?: string;
  after?: string;
}

/** How a topic matched a namespace: exact, or by a prefix of this length. */
interface Match {
  namespace: Namespace;
  exact: boolean;
  length: number;
}

/**
 * Decides topic access from the configured namespaces and the token's claims, failing
 * closed:
 * - the most specific namespace matching the topic gives the level (an exact name, then
 *   the longest `prefix*`, then `*`); a topic that matches **no** namespace is refused
 *   (configure `"*"` to allow a catch-all);
 * - a namespace may name the user with `{sub}` (`user:{sub}`, `user:{sub}:*`): it matches
 *   only the connection's own topics, and only for a user id that is one segment (no
 *   `:`, `/`, `.`), so one user can never reach another's;
 * - level `authenticated` needs a verified token; a token with a `topics` claim must list
 *   a pattern matching the topic for the action; a token without one gets its own
 *   `{sub}` topics, and the other `authenticated` namespaces only with the
 *   `optional` claim policy.
 */
export class TopicAccess {
  private readonly exact = new Map<string, TopicRule>();
  private readonly namespaces: Namespace[] = [];
  private readonly topicsClaim: TopicsClaimPolicy;

  constructor(
    rules: Readonly<Record<string, TopicRule>>,
    options: { topicsClaim?: TopicsClaimPolicy } = {},
  ) {
    this.topicsClaim = options.topicsClaim ?? 'required';
    for (const [pattern, rule] of Object.entries(rules)) {
      const at = pattern.indexOf(SUB_PLACEHOLDER);
      if (at === -1) {
        if (pattern.endsWith('*')) this.namespaces.push({ rule, pattern });
        else this.exact.set(pattern, rule);
      } else {
        this.namespaces.push({
          rule,
          before: pattern.slice(0, at),
          after: pattern.slice(at + SUB_PLACEHOLDER.length),
        });
      }
    }
  }

  /**
   * The rule that applies to `topic` for `user` (undefined: the topic is refused). With
   * `user` undefined, `{sub}` matches any one segment: the store uses that to find a
   * per-user namespace's history bounds.
   */
  ruleFor(topic: string, user?: string): TopicRule | undefined {
    return this.match(topic, user ?? null)?.namespace.rule;
  }

  /** Whether a connection authenticated as `auth` may do `action` on `topic`. */
  allows(action: TopicAction, topic: string, auth: ConnectionAuth): boolean {
    const user = auth.auth === 'jwt' ? auth.user : undefined;
    // Without a user, `{sub}` namespaces cannot apply (undefined, not "any segment").
    const match = this.match(topic, user ?? undefined);
    if (match === undefined) return false;
    const level = match.namespace.rule[action];
    if (level === 'none') return false;
    if (level === 'anyone') return true;
    if (auth.auth === 'insecure') return true;
    if (auth.auth !== 'jwt') return false;
    if (auth.topics !== undefined) {
      return auth.topics[action]?.some((pattern) => topicMatches(pattern, topic)) ?? false;
    }
    const personal = match.namespace.before !== undefined;
    return personal || this.topicsClaim === 'optional';
  }

  /**
   * The most specific namespace for `topic`. `user`: a user id matches `{sub}`; `null`
   * any segment matches; `undefined` no `{sub}` namespace matches.
   */
  private match(topic: string, user: string | null | undefined): Match | undefined {
    const exact = this.exact.get(topic);
    let best: Match | undefined =
      exact === undefined
        ? undefined
        : { namespace: { rule: exact }, exact: true, length: topic.length };
    for (const namespace of this.namespaces) {
      const found = matchNamespace(namespace, topic, user);
      if (found === undefined) continue;
      if (
        best === undefined ||
        (found.exact && !best.exact) ||
        (found.exact === best.exact && found.length > best.length)
      ) {
        best = found;
      }
    }
    return best;
  }
}

function matchNamespace(
  namespace: Namespace,
  topic: string,
  user: string | null | undefined,
): Match | undefined {
  if (namespace.pattern !== undefined) {
    if (!topicMatches(namespace.pattern, topic)) return undefined;
    return { namespace, exact: false, length: namespace.pattern.length - 1 };
  }
  const before = namespace.before as string;
  const after = namespace.after as string;
  if (user === undefined || !topic.startsWith(before)) return undefined;
  let end = before.length;
  while (end < topic.length && !isSeparator(topic[end])) end++;
  const segment = topic.slice(before.length, end);
  if (segment === '' || (user !== null && segment !== user)) return undefined;
  const rest = topic.slice(end);
  if (after === '*' || after === '') {
    // `user:{sub}*` (rest is '' or starts at a separator), `user:{sub}` (rest is '').
    if (after === '' && rest !== '') return undefined;
    return { namespace, exact: after === '', length: end };
  }
  if (!topicMatches(after, rest)) return undefined;
  const exact = !after.endsWith('*');
  return { namespace, exact, length: end + (exact ? after.length : after.length - 1) };
}

/** Reads the {@link ConnectionAuth} the hub stored in a connection's `data`. */
export function connectionAuth(
  data: Readonly<Record<string, Json>> | undefined,
  user?: string,
): ConnectionAuth {
  const kind = data?.auth;
  if (kind === 'insecure') return { auth: 'insecure' };
  if (kind !== 'jwt') return { auth: 'anonymous' };
  const base: { auth: 'jwt'; user?: string } =
    user === undefined ? { auth: 'jwt' } : { auth: 'jwt', user };
  const topics = data?.topics;
  if (typeof topics !== 'object' || topics === null || Array.isArray(topics)) return base;
  const list = (value: Json | undefined): string[] | undefined =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
  const claims: TopicClaims = {};
  const publish = list(topics.publish);
  const subscribe = list(topics.subscribe);
  if (publish !== undefined) claims.publish = publish;
  if (subscribe !== undefined) claims.subscribe = subscribe;
  return { ...base, topics: claims };
}
