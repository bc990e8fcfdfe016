/**
 * Lua scripts of the topic half of the Redis store, and the sweep and stats that
 * span both halves. One script per operation: atomic across nodes, in call order.
 *
 * Keys (P is the key prefix):
 * - `P t:{topic}` hash: ep (epoch), hd (head offset), at (last publication or creation
 *   time), age (the topic's age bound in ms, set by the last append).
 * - `P h:{topic}` stream: retained publications, entry id `{offset}-0`, fields
 *   t (time), d (data) and, when stored, f (the encoded frame). Offsets are contiguous:
 *   trimming only ever removes the oldest entries (MAXLEN on append, MINID in the sweep).
 * - `P topics` set of topic names.
 * - `P p:{topic}` pub/sub channel: every append publishes `offset|epoch|time|` and then
 *   `f` + frame or `d` + data, from inside the script, so other nodes hear appends of a
 *   topic in offset order.
 */

/** Shared helpers, prepended to every topic script. */
export const TOPIC_LIB = `
local P = ARGV[1]
local function tkey(topic) return P .. 't:' .. topic end
local function hkey(topic) return P .. 'h:' .. topic end
local function id(offset) return string.format('%d-0', offset) end
local function offsetOf(entryId) return tonumber(string.match(entryId, '^(%d+)')) end
-- The topic's epoch and head, starting its history (a new epoch, head 0) if it has none.
local function ensure(topic, candidate, now)
  local k = tkey(topic)
  local t = redis.call('HMGET', k, 'ep', 'hd')
  if t[1] then return t[1], tonumber(t[2]) end
  redis.call('HSET', k, 'ep', candidate, 'hd', 0, 'at', now)
  redis.call('SADD', P .. 'topics', topic)
  -- A stream left by a forgotten history would refuse offsets from 1 again.
  redis.call('DEL', hkey(topic))
  return candidate, 0
end
local function oldestOf(topic, head)
  local first = redis.call('XRANGE', hkey(topic), '-', '+', 'COUNT', 1)
  if #first > 0 then return offsetOf(first[1][1]) end
  return head + 1
end
local function fieldsOf(row)
  local f = { t = 0, d = '', fr = false }
  local kv = row[2]
  for i = 1, #kv, 2 do
    if kv[i] == 't' then f.t = tonumber(kv[i + 1])
    elseif kv[i] == 'd' then f.d = kv[i + 1]
    elseif kv[i] == 'f' then f.fr = kv[i + 1] end
  end
  return f
end
-- Appends a page of the stream from 'from' (an entry id or '(' id) to 'out': at most
-- 'limit' (-1: no bound) publications and 'maxBytes' (-1: none) bytes, but at least one.
local function page(topic, from, limit, maxBytes, out)
  if limit == 0 then return end
  local taken = 0
  local bytes = 0
  while true do
    local want = 200
    if limit > 0 then want = math.min(200, limit - taken) end
    local rows = redis.call('XRANGE', hkey(topic), from, '+', 'COUNT', want)
    if #rows == 0 then return end
    for _, row in ipairs(rows) do
      local f = fieldsOf(row)
      local size = #(f.fr or f.d)
      if taken > 0 and maxBytes >= 0 and bytes + size > maxBytes then return end
      table.insert(out, offsetOf(row[1]))
      table.insert(out, f.t)
      table.insert(out, f.d)
      table.insert(out, f.fr)
      taken = taken + 1
      bytes = bytes + size
      if (limit > 0 and taken >= limit) or (maxBytes >= 0 and bytes >= maxBytes) then return end
    end
    if #rows < want then return end
    from = '(' .. rows[#rows][1]
  end
end
`;

/**
 * ARGV: P, topic, data, time, candidate epoch, maxCount, maxAgeMs, frame mode, frame,
 * epoch marker, offset marker, expected epoch, expected offset.
 * Frame modes: 'none' (no frame), 'fixed' (stored as is), 'template' (the markers are
 * replaced by the assigned epoch, JSON-quoted, and offset), 'expect' (stored as is only
 * if the position is the expected one; else nothing is written and { 0, epoch, head }
 * comes back, so the caller encodes again for the actual position).
 * Returns { offset, epoch, frame or false }.
 */
export const APPEND_PUBLICATION = `${TOPIC_LIB}
local topic = ARGV[2]
local data = ARGV[3]
local time = ARGV[4]
local epoch, head = ensure(topic, ARGV[5], time)
local offset = head + 1
local mode = ARGV[8]
local frame = false
if mode == 'fixed' then
  frame = ARGV[9]
elseif mode == 'template' then
  local tpl = ARGV[9]
  local e1, e2 = string.find(tpl, ARGV[10], 1, true)
  if e1 then tpl = string.sub(tpl, 1, e1 - 1) .. '"' .. epoch .. '"' .. string.sub(tpl, e2 + 1) end
  local o1, o2 = string.find(tpl, ARGV[11], 1, true)
  if o1 then tpl = string.sub(tpl, 1, o1 - 1) .. string.format('%d', offset) .. string.sub(tpl, o2 + 1) end
  frame = tpl
elseif mode == 'expect' then
  if epoch ~= ARGV[12] or offset ~= tonumber(ARGV[13]) then return { 0, epoch, head } end
  frame = ARGV[9]
end
local k = tkey(topic)
redis.call('HSET', k, 'hd', offset, 'at', time, 'age', ARGV[7])
local maxCount = tonumber(ARGV[6])
if maxCount > 0 then
  if frame then
    redis.call('XADD', hkey(topic), 'MAXLEN', '=', maxCount, id(offset), 't', time, 'd', data, 'f', frame)
  else
    redis.call('XADD', hkey(topic), 'MAXLEN', '=', maxCount, id(offset), 't', time, 'd', data)
  end
elseif redis.call('EXISTS', hkey(topic)) == 1 then
  redis.call('DEL', hkey(topic))
end
local body
if frame then body = 'f' .. frame else body = 'd' .. data end
redis.call('PUBLISH', P .. 'p:' .. topic, string.format('%d|%s|%s|', offset, epoch, time) .. body)
return { offset, epoch, frame }
`;

/**
 * ARGV: P, topic, from epoch, from offset, limit, maxBytes, candidate epoch, now.
 * Returns { recovered (0/1), epoch, head, then offset, time, data, frame per publication }.
 */
export const PUBLICATIONS_AFTER = `${TOPIC_LIB}
local topic = ARGV[2]
local epoch, head = ensure(topic, ARGV[7], ARGV[8])
local from = tonumber(ARGV[4])
local oldest = oldestOf(topic, head)
if not (ARGV[3] == epoch and from <= head and from >= oldest - 1) then
  return { 0, epoch, head }
end
local out = { 1, epoch, head }
page(topic, id(from + 1), tonumber(ARGV[5]), tonumber(ARGV[6]), out)
return out
`;

/**
 * ARGV: P, topic, n, limit, maxBytes, candidate epoch, now.
 * Returns { epoch, head, then offset, time, data, frame per publication }.
 */
export const LAST_PUBLICATIONS = `${TOPIC_LIB}
local topic = ARGV[2]
local epoch, head = ensure(topic, ARGV[6], ARGV[7])
local out = { epoch, head }
local n = tonumber(ARGV[3])
if n == 0 then return out end
local count = redis.call('XLEN', hkey(topic))
if count == 0 then return out end
local start = head - math.min(n, count) + 1
page(topic, id(start), tonumber(ARGV[4]), tonumber(ARGV[5]), out)
return out
`;

/** ARGV: P, topic, candidate epoch, now. Returns { epoch, head }. */
export const TOPIC_HEAD = `${TOPIC_LIB}
local epoch, head = ensure(ARGV[2], ARGV[3], ARGV[4])
return { epoch, head }
`;

/**
 * ARGV: P, now, default age bound (ms), topic idle bound (ms).
 * Expires sessions, trims histories by age, forgets idle empty topics.
 * Returns { expiredSessions, trimmedPublications, droppedTopics }.
 */
export const SWEEP = `
local P = ARGV[1]
local now = tonumber(ARGV[2])
local defaultAge = tonumber(ARGV[3])
local idle = tonumber(ARGV[4])
local expired = 0
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now)) do
  local k = P .. 's:' .. sid
  local uid = redis.call('HGET', k, 'u')
  if uid then redis.call('ZREM', P .. 'u:' .. uid, sid) end
  redis.call('DEL', k, P .. 'l:' .. sid)
  redis.call('SREM', P .. 'sessions', sid)
  redis.call('SREM', P .. 'live', sid)
  redis.call('ZREM', P .. 'exp', sid)
  expired = expired + 1
end
local trimmed = 0
local dropped = 0
for _, topic in ipairs(redis.call('SMEMBERS', P .. 'topics')) do
  local k = P .. 't:' .. topic
  local h = P .. 'h:' .. topic
  local t = redis.call('HMGET', k, 'at', 'age')
  local age = tonumber(t[2]) or defaultAge
  local cutoff = now - age
  local last = nil
  local from = '-'
  local done = false
  while not done do
    local rows = redis.call('XRANGE', h, from, '+', 'COUNT', 200)
    if #rows == 0 then break end
    for _, row in ipairs(rows) do
      local time = 0
      for i = 1, #row[2], 2 do
        if row[2][i] == 't' then time = tonumber(row[2][i + 1]) end
      end
      if time >= cutoff then done = true break end
      last = row[1]
      trimmed = trimmed + 1
    end
    if #rows < 200 then break end
    from = '(' .. rows[#rows][1]
  end
  if last ~= nil then
    local offset = tonumber(string.match(last, '^(%d+)'))
    redis.call('XTRIM', h, 'MINID', '=', string.format('%d-0', offset + 1))
  end
  local at = tonumber(t[1]) or 0
  if redis.call('XLEN', h) == 0 and at <= now - idle then
    redis.call('DEL', k, h)
    redis.call('SREM', P .. 'topics', topic)
    dropped = dropped + 1
  end
end
return { expired, trimmed, dropped }
`;

/** ARGV: P. Returns { sessions, sessionMessages, topics, publications }. */
export const STATS = `
local P = ARGV[1]
local messages = 0
local sessions = redis.call('SMEMBERS', P .. 'sessions')
for _, sid in ipairs(sessions) do messages = messages + redis.call('XLEN', P .. 'l:' .. sid) end
local pubs = 0
local topics = redis.call('SMEMBERS', P .. 'topics')
for _, topic in ipairs(topics) do pubs = pubs + redis.call('XLEN', P .. 'h:' .. topic) end
return { #sessions, messages, #topics, pubs }
`;
