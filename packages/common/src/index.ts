/**
 * @tether/common — isomorphic building blocks shared by server, client and
 * tools: an injectable clock, named timers and sweeps, backoff with jitter,
 * disposers, a typed emitter, durations, errors and option checks.
 * Nothing here imports from Node, so the browser client can use all of it.
 */
export { type Clock, type TimerHandle, systemClock, ManualClock } from './clock.js';
export { Timer, Sweep } from './timer.js';
export { type BackoffOptions, backoffCeiling, fullJitterDelay, hintedDelay } from './backoff.js';
export { type Disposer, DisposerBag, listen } from './disposer.js';
export { type EventMap, Emitter } from './emitter.js';
export { parseDuration, formatDuration } from './duration.js';
export { TetherError, OptionError, type TetherErrorOptions } from './errors.js';
export { checkInt, checkNumber, checkBool, checkFn, checkKnownKeys } from './options.js';
