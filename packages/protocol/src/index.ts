/**
 * @tether/protocol — the wire contract of Tether v1, and nothing else: frame
 * types, the codec with strict validation, version negotiation, the
 * close-code table and the error codes. No I/O.
 */
export { PROTOCOL_VERSION, SUBPROTOCOL, AUTH_SUBPROTOCOL_PREFIX, authSubprotocol, tokenFromSubprotocols } from './version.js';
export type * from './frames.js';
export { CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES } from './frames.js';
export { ErrorCode, type ErrorCodeName } from './error-codes.js';
export { ProtocolError } from './protocol-error.js';
export {
  CloseCode,
  CLOSE_CODES,
  type CloseAction,
  type CloseCodeInfo,
  closeCodeInfo,
  shouldReconnect,
  isSendableCloseCode,
} from './close-codes.js';
export { decodeMessage, validateFrame, encodeFrame, joinEncoded, isValidTopic, type Decoded, type DecodeOptions, type Sender } from './codec.js';
export { WIRE_LIMITS, TOPIC_PATTERN } from './limits.js';
export { PROTOCOL_DEFAULTS } from './defaults.js';
