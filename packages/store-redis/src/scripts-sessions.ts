/**
 * Lua scripts of the session half of the Redis store. Each store operation is one
 * script, so it is atomic across every node sharing the Redis and, sent on one
 * connection, runs in call order (a read issued after a write sees it).
 *
 * Keys (P is the key prefix, default `tether:`):
 * - `P s:{sid}`  hash: th (token hash), u (user), n (node), c (createdAt),
 *   d (disconnectedAt), e (expiresAt), o (outSeq), a (ackedSeq), i (inSeq), b (log bytes);
 *   an absent u/n/d/e field is `null`.
 * - `P l:{sid}`  stream: the session log, entry id `{seq}-0`, field p (payload).
 * - `P sessions` set of every sid; `P live` set of connected sids;
 *   `P exp` zset sid -> expiresAt; `P u:{user}` zset sid -> createdAt;
 *   `P nodes` zset node -> last lease renewal.
 * - `P n:{node}` channel: events of the sessions a node holds (`m|{sid}|{outSeq}`: another
 *   node appended; `x|{sid}`: another node took it over).
 *
 * Arguments that may be absent or null are sent as '' (absent: leave as is), '-'
 * (null), or '=' followed by the value.
 */

/** Shared helpers, prepended to every session script. */
export const SESSION_LIB = `
local P = ARGV[1]
local function skey(sid) return P .. 's:' .. sid end
local function lkey(sid) return P .. 'l:' .. sid end
local function ukey(uid) return P .. 'u:' .. uid end
local function id(seq) return string.format('%d-0', seq) end
local function seqOf(entryId) return tonumber(string.match(entryId, '^(%d+)')) end
local function opt(v)
  if v == '' then return nil, false end
  if v == '-' then return false, true end
  return string.sub(v, 2), true
end
-- Drops log entries up to seq 'upto' (inclusive); returns the bytes they held.
local function dropUpTo(sid, upto)
  local bytes = 0
  local last = nil
  local from = '-'
  while true do
    local rows = redis.call('XRANGE', lkey(sid), from, id(upto), 'COUNT', 200)
    if #rows == 0 then break end
    for _, row in ipairs(rows) do
      bytes = bytes + #row[2][2]
      last = row[1]
    end
    if #rows < 200 then break end
    from = '(' .. last
  end
  if last ~= nil then redis.call('XTRIM', lkey(sid), 'MINID', '=', id(upto + 1)) end
  return bytes
end
local function ack(sid, upto)
  local k = skey(sid)
  local o = tonumber(redis.call('HGET', k, 'o'))
  local a = tonumber(redis.call('HGET', k, 'a'))
  local target = math.min(upto, o)
  if target > a then
    redis.call('HSET', k, 'a', target)
    local freed = dropUpTo(sid, target)
    if freed > 0 then redis.call('HINCRBY', k, 'b', -freed) end
  end
end
-- The session's disconnect time (a value, or false/nil: connected), and the \`live\` set of
-- connected sids that follows it.
local function setDisconnectedAt(sid, d)
  if d then
    redis.call('HSET', skey(sid), 'd', d)
    redis.call('SREM', P .. 'live', sid)
  else
    redis.call('HDEL', skey(sid), 'd')
    redis.call('SADD', P .. 'live', sid)
  end
end
-- The session's expiry (a value, or false/nil: none), and the \`exp\` zset that follows it.
local function setExpiresAt(sid, e)
  if e then
    redis.call('HSET', skey(sid), 'e', e)
    redis.call('ZADD', P .. 'exp', e, sid)
  else
    redis.call('HDEL', skey(sid), 'e')
    redis.call('ZREM', P .. 'exp', sid)
  end
end
-- Marks a session disconnected at d, resumable until e.
local function disconnect(sid, d, e)
  setDisconnectedAt(sid, d)
  setExpiresAt(sid, e)
end
local function removeSession(sid)
  local k = skey(sid)
  if redis.call('EXISTS', k) == 0 then return 0 end
  local uid = redis.call('HGET', k, 'u')
  if uid then redis.call('ZREM', ukey(uid), sid) end
  redis.call('DEL', k, lkey(sid))
  redis.call('SREM', P .. 'sessions', sid)
  redis.call('SREM', P .. 'live', sid)
  redis.call('ZREM', P .. 'exp', sid)
  return 1
end
`;

/** Script text: the session of ARGV[2], as `sid` and its hash key `k`. */
const SESSION_OF_ARGS = `
local sid = ARGV[2]
local k = skey(sid)
`;

/** Script text: after {@link SESSION_OF_ARGS}, a SESSION_NOT_FOUND error reply when it does not exist. */
const SESSION_MUST_EXIST = `if redis.call('EXISTS', k) == 0 then
  return redis.error_reply('SESSION_NOT_FOUND session ' .. sid .. ' not found')
end
`;

/** ARGV: P, sid, tokenHash, user, node, createdAt, disconnectedAt, expiresAt (opt-encoded). */
export const CREATE_SESSION = `${SESSION_LIB}${SESSION_OF_ARGS}if redis.call('EXISTS', k) == 1 then
  return redis.error_reply('SESSION_EXISTS session ' .. sid .. ' exists')
end
local uid = opt(ARGV[4])
local node = opt(ARGV[5])
local d = opt(ARGV[7])
local e = opt(ARGV[8])
redis.call('HSET', k, 'th', ARGV[3], 'c', ARGV[6], 'o', 0, 'a', 0, 'i', 0, 'b', 0)
if uid then
  redis.call('HSET', k, 'u', uid)
  redis.call('ZADD', ukey(uid), ARGV[6], sid)
end
if node then redis.call('HSET', k, 'n', node) end
setDisconnectedAt(sid, d)
setExpiresAt(sid, e)
redis.call('SADD', P .. 'sessions', sid)
-- A session of the same sid that expired may have left its log: start empty.
redis.call('DEL', lkey(sid))
return redis.call('HGETALL', k)
`;

/** ARGV: P, sid. */
export const GET_SESSION = `${SESSION_LIB}
return redis.call('HGETALL', skey(ARGV[2]))
`;

/** ARGV: P, sid, tokenHash, user, node, disconnectedAt, expiresAt, ackedSeq, inSeq (opt). */
export const UPDATE_SESSION = `${SESSION_LIB}${SESSION_OF_ARGS}${SESSION_MUST_EXIST}local th = opt(ARGV[3])
if th then redis.call('HSET', k, 'th', th) end
local uid, hasUid = opt(ARGV[4])
if hasUid then
  local old = redis.call('HGET', k, 'u')
  if old ~= (uid or false) then
    local created = redis.call('HGET', k, 'c')
    if old then redis.call('ZREM', ukey(old), sid) end
    if uid then
      redis.call('HSET', k, 'u', uid)
      redis.call('ZADD', ukey(uid), created, sid)
    else
      redis.call('HDEL', k, 'u')
    end
  end
end
local node, hasNode = opt(ARGV[5])
if hasNode then
  local previous = redis.call('HGET', k, 'n')
  if node then redis.call('HSET', k, 'n', node) else redis.call('HDEL', k, 'n') end
  -- Taken over (a resume on another node): the node that held it lets its copy go.
  if previous and previous ~= (node or false) then
    redis.call('PUBLISH', P .. 'n:' .. previous, 'x|' .. sid)
  end
end
local d, hasD = opt(ARGV[6])
if hasD then setDisconnectedAt(sid, d) end
local e, hasE = opt(ARGV[7])
if hasE then setExpiresAt(sid, e) end
local acked = opt(ARGV[8])
if acked then ack(sid, tonumber(acked)) end
local inSeq = opt(ARGV[9])
if inSeq then
  local i = tonumber(redis.call('HGET', k, 'i'))
  if tonumber(inSeq) > i then redis.call('HSET', k, 'i', inSeq) end
end
return redis.call('HGETALL', k)
`;

/** ARGV: P, sid. Returns 1 when a session was deleted. */
export const DELETE_SESSION = `${SESSION_LIB}
return removeSession(ARGV[2])
`;

/** ARGV: P, user. Every session of the user, oldest first (then by sid). */
export const SESSIONS_OF_USER = `${SESSION_LIB}
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', ukey(ARGV[2]), 0, -1)) do
  local h = redis.call('HGETALL', skey(sid))
  if #h > 0 then table.insert(out, { sid, h }) end
end
return out
`;

/** ARGV: P, now, expiresAt, node ('' for every node). Returns how many were released. */
export const RELEASE_SESSIONS = `${SESSION_LIB}
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', P .. 'live')) do
  local k = skey(sid)
  local node = redis.call('HGET', k, 'n')
  if ARGV[4] == '' or node == ARGV[4] then
    if redis.call('HEXISTS', k, 'd') == 0 then
      disconnect(sid, ARGV[2], ARGV[3])
      n = n + 1
    end
    -- Also a sid left in \`live\` with a disconnect time.
    redis.call('SREM', P .. 'live', sid)
  end
end
return n
`;

/**
 * ARGV: P, sid, maxMessages, maxBytes, count, appending node, then seq and payload of
 * each message. Returns { outSeq, dropped }. When another node holds the session's
 * connection, tells it on its channel (`n:{node}`, message `m|{sid}|{outSeq}`), so it
 * sends the new messages to its client at once.
 */
export const APPEND_SESSION = `${SESSION_LIB}${SESSION_OF_ARGS}${SESSION_MUST_EXIST}local maxCount = tonumber(ARGV[3])
local maxBytes = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local o = tonumber(redis.call('HGET', k, 'o'))
for j = 1, n do
  local seq = tonumber(ARGV[5 + 2 * j])
  if seq ~= o + j then
    return redis.error_reply(string.format(
      'SEQ_CONFLICT session %s: expected seq %d, got %s (outSeq is %d)',
      sid, o + j, ARGV[5 + 2 * j], o))
  end
end
local added = 0
for j = 1, n do
  local payload = ARGV[6 + 2 * j]
  redis.call('XADD', lkey(sid), id(o + j), 'p', payload)
  added = added + #payload
end
o = o + n
local bytes = tonumber(redis.call('HGET', k, 'b')) + added
local count = redis.call('XLEN', lkey(sid))
-- The oldest messages past the count or byte bound go; the newest always stays.
local drop = 0
local dropped = 0
local lastDropped = nil
if count > maxCount or bytes > maxBytes then
  local from = '-'
  local done = false
  while not done do
    local rows = redis.call('XRANGE', lkey(sid), from, '+', 'COUNT', 200)
    if #rows == 0 then break end
    for _, row in ipairs(rows) do
      if count - drop <= 1 then done = true break end
      if count - drop <= maxCount and bytes - dropped <= maxBytes then done = true break end
      drop = drop + 1
      dropped = dropped + #row[2][2]
      lastDropped = row[1]
    end
    if #rows < 200 then break end
    from = '(' .. rows[#rows][1]
  end
  if lastDropped ~= nil then
    redis.call('XTRIM', lkey(sid), 'MINID', '=', id(seqOf(lastDropped) + 1))
  end
end
redis.call('HSET', k, 'o', o, 'b', bytes - dropped)
local holder = redis.call('HGET', k, 'n')
if holder and holder ~= ARGV[6] and redis.call('HEXISTS', k, 'd') == 0 then
  redis.call('PUBLISH', P .. 'n:' .. holder, 'm|' .. sid .. '|' .. o)
end
return { o, drop }
`;

/**
 * ARGV: P, sid, node, disconnectedAt, expiresAt. Marks the session disconnected only
 * while `node` still holds it: a node that lost it to a resume elsewhere (its client
 * moved while it was partitioned or slow) cannot mark it disconnected under the node that
 * holds it now. Returns 1 when it did.
 */
export const DETACH_SESSION = `${SESSION_LIB}
local sid = ARGV[2]
local k = skey(sid)
if redis.call('HGET', k, 'n') ~= ARGV[3] or redis.call('HEXISTS', k, 'd') == 1 then return 0 end
disconnect(sid, ARGV[4], ARGV[5])
return 1
`;

/**
 * ARGV: P, node, now, leaseMs, windowMs. Renews this node's lease (`nodes` zset: node ->
 * last renewal) and releases the connected sessions of every node whose lease ran out
 * (killed without a goodbye): disconnected now, resumable for `windowMs`, then swept.
 * Returns how many sessions it released.
 */
export const NODE_LEASE = `${SESSION_LIB}
local now = tonumber(ARGV[3])
redis.call('ZADD', P .. 'nodes', now, ARGV[2])
local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now - tonumber(ARGV[4]))
if #dead == 0 then return 0 end
local gone = {}
for _, node in ipairs(dead) do gone[node] = true end
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', P .. 'live')) do
  local k = skey(sid)
  local holder = redis.call('HGET', k, 'n')
  if holder and gone[holder] and redis.call('HEXISTS', k, 'd') == 0 then
    disconnect(sid, now, now + tonumber(ARGV[5]))
    n = n + 1
  end
end
redis.call('ZREM', P .. 'nodes', unpack(dead))
return n
`;

/**
 * ARGV: P, sid, afterSeq, limit (-1: none), maxBytes (-1: none).
 * Returns { complete (0/1), outSeq, seq1, payload1, ... }.
 */
export const SESSION_AFTER = `${SESSION_LIB}${SESSION_OF_ARGS}local o = tonumber(redis.call('HGET', k, 'o'))
if o == nil then return { 0, 0 } end
local after = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[5])
local first = redis.call('XRANGE', lkey(sid), '-', '+', 'COUNT', 1)
local oldest = o + 1
if #first > 0 then oldest = seqOf(first[1][1]) end
local complete = 0
if after <= o and after >= oldest - 1 then complete = 1 end
local out = { complete, o }
if limit == 0 then return out end
local taken = 0
local bytes = 0
local from = id(after + 1)
while true do
  local want = 200
  if limit > 0 then want = math.min(200, limit - taken) end
  local rows = redis.call('XRANGE', lkey(sid), from, '+', 'COUNT', want)
  if #rows == 0 then return out end
  for _, row in ipairs(rows) do
    local payload = row[2][2]
    local nextBytes = bytes + #payload
    if taken > 0 and maxBytes >= 0 and nextBytes > maxBytes then return out end
    table.insert(out, seqOf(row[1]))
    table.insert(out, payload)
    taken = taken + 1
    bytes = nextBytes
    if (limit > 0 and taken >= limit) or (maxBytes >= 0 and bytes >= maxBytes) then return out end
  end
  if #rows < want then return out end
  from = '(' .. rows[#rows][1]
end
`;

/** ARGV: P, sid, uptoSeq. Unknown sessions are ignored. */
export const TRIM_SESSION = `${SESSION_LIB}
if redis.call('EXISTS', skey(ARGV[2])) == 0 then return 0 end
ack(ARGV[2], tonumber(ARGV[3]))
return 1
`;
