import { STATUS_CODES } from 'node:http'

/** Headers every answer carries, errors included (the app's onSend hook and the raw error paths). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
}

/** Codes that differ from the status's reason phrase in snake case. */
const CODE_BY_STATUS: Record<number, string> = {
  401: 'unauthorised',
  429: 'rate_limited',
  500: 'internal',
}

/**
 * The `error.code` of a status: `403` → `forbidden`, `404` → `not_found`, `415` →
 * `unsupported_media_type`, `401` → `unauthorised`, `429` → `rate_limited`, `500` → `internal`.
 */
export function errorCodeOf(status: number): string {
  const known = CODE_BY_STATUS[status]
  if (known) return known
  const phrase = STATUS_CODES[status]
  if (!phrase) return status >= 500 ? 'internal' : 'bad_request'
  return phrase
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
}

/** A message for an error body: one line, at most 200 characters. */
export function shortMessage(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 199)}…` : line
}
