/**
 * @tether/common — isomorphic building blocks shared by server, client and
 * tools: an injectable clock, named timers and sweeps, backoff with jitter,
 * disposers, a typed emitter, durations, errors and option checks.
 * Nothing here imports from Node, so the browser client can use all of it.
 */

export { type BackoffOptions, backoffCeiling, fullJitterDelay, hintedDelay } from './backoff.js';
export { messageBytes, messageText } from './bytes.js';
export { type Clock, isClock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export { type Disposer, DisposerBag, listen } from './disposer.js';
export { DURATION_PATTERN, formatDuration, parseDuration } from './duration.js';
export { Emitter, type EventMap } from './emitter.js';
export { OptionError, TetherError, type TetherErrorOptions } from './errors.js';
export { checkBool, checkFn, checkInt, checkKnownKeys, checkNumber } from './options.js';
export { Sweep, Timer } from './timer.js';
