/**
 * @tether/protocol — the wire contract of Tether v1, and nothing else: frame
 * types, the codec with strict validation, version negotiation, the
 * close-code table and the error codes. No I/O.
 */

export {
  CLOSE_CODES,
  type CloseAction,
  CloseCode,
  type CloseCodeInfo,
  closeCodeInfo,
  isSendableCloseCode,
  shouldReconnect,
} from './close-codes.js';
export {
  type Decoded,
  type DecodeOptions,
  decodeMessage,
  encodeFrame,
  isValidTopic,
  joinEncoded,
  type Sender,
  validateFrame,
} from './codec.js';
export { PROTOCOL_DEFAULTS } from './defaults.js';
export { ErrorCode, type ErrorCodeName } from './error-codes.js';
export type * from './frames.js';
export { CLIENT_FRAME_TYPES, MIN_PEER_MESSAGE_BYTES, SERVER_FRAME_TYPES } from './frames.js';
export { TOPIC_PATTERN, WIRE_LIMITS } from './limits.js';
export { ProtocolError } from './protocol-error.js';
export {
  AUTH_SUBPROTOCOL_PREFIX,
  authSubprotocol,
  EARLY_SUBPROTOCOL,
  HELLO_SUBPROTOCOL_PREFIX,
  helloSubprotocol,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  tokenFromSubprotocols,
} from './version.js';
