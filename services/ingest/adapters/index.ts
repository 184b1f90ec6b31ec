/**
 * Adapters for the gateway formats shops can buy, beside the native v1 decoder
 * (../decode-message.ts). Each is a pure function of (topic or HTTP request, bytes, now, limits)
 * that never throws and never quotes a MAC in a reject's detail. docs/gateway-formats.md.
 */
export * from './common.ts'
export { decodeOmgMessage, parseOmgTopic } from './omg.ts'
export { decodeEspresenseMessage, parseEspresenseTopic } from './espresense.ts'
export { decodeSnifferMessage, type SnifferOptions } from './sniffer.ts'
export { decodeMerakiPost, type MerakiOptions, type MerakiRequest } from './meraki.ts'
export {
  decodePaxcounterMessage,
  parsePaxcounterTopic,
  type PaxcounterEncoding,
  type PaxcounterOptions,
} from './paxcounter.ts'
export {
  createSourceResolver,
  resolveGatewayId,
  sourceIdentityKey,
  type SourceResolver,
} from './resolve-source.ts'
