import { redactMacs } from '../shared/contracts/mac.ts'

/** Characters of a dead letter's payload rendering at most. */
export const RENDERED_PAYLOAD_MAX = 4096

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * What an operator may see of a rejected message: a text rendering of the payload with every
 * MAC-looking token redacted, cut to `max` characters — never the bytes as they came.
 *
 * - JSON is parsed and written back with every key and string redacted, so escaped characters
 *   (`"7\u0065:fd:…"`) are seen as the characters they stand for;
 * - other UTF-8 text, and UTF-16 text (with a byte-order mark, or a NUL in every other byte), is
 *   rendered with escapes decoded and control characters removed before redaction;
 * - anything else is binary, where a MAC may be six raw bytes no pattern can recognise: only its size
 *   is shown.
 *
 * Redaction happens before the cut, so no partial MAC survives at the end.
 */
export function renderPayload(payload: Uint8Array, max = RENDERED_PAYLOAD_MAX): string {
  const text = decodeText(payload)
  if (text === null) return `(binary payload of ${payload.length} bytes: not shown)`
  let rendered: string
  try {
    rendered = JSON.stringify(redactDeep(JSON.parse(text) as unknown)) ?? ''
  } catch {
    rendered = withoutControls(text)
  }
  return cut(redactMacs(rendered), max)
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text
  // Never end on half of a surrogate pair (Postgres would refuse the text).
  const end = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max
  return text.slice(0, end)
}

/**
 * Control characters removed (tab and line breaks kept): a NUL between the digits of a MAC (UTF-16
 * text inside UTF-8) must not hide it from the patterns, and Postgres text cannot hold NUL anyway.
 */
function withoutControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
}

function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactMacs(withoutControls(value))
  if (Array.isArray(value)) return value.map(redactDeep)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[redactMacs(withoutControls(k))] = redactDeep(v)
    return out
  }
  return value
}

/** The payload as text, or null when it is not text (binary, or mostly control characters). */
function decodeText(payload: Uint8Array): string | null {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  if (bytes.length === 0) return ''
  const utf16 = utf16Order(bytes)
  let text: string
  if (utf16 !== null) {
    const body = hasBom(bytes) ? bytes.subarray(2) : bytes
    const even = body.subarray(0, body.length - (body.length % 2))
    text =
      utf16 === 'le' ? even.toString('utf16le') : Buffer.from(even).swap16().toString('utf16le')
  } else {
    try {
      text = utf8.decode(bytes)
    } catch {
      return null
    }
  }
  let control = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffd) control++
  }
  return control * 10 > text.length ? null : text
}

function hasBom(b: Buffer): boolean {
  return (b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)
}

/** 'le'/'be' for UTF-16 text: a byte-order mark, or NULs in most odd (LE) or even (BE) bytes. */
function utf16Order(b: Buffer): 'le' | 'be' | null {
  if (b[0] === 0xff && b[1] === 0xfe) return 'le'
  if (b[0] === 0xfe && b[1] === 0xff) return 'be'
  if (b.length < 4) return null
  const n = Math.min(b.length, 512) >> 1
  let evenNul = 0
  let oddNul = 0
  for (let i = 0; i < n; i++) {
    if (b[2 * i] === 0) evenNul++
    if (b[2 * i + 1] === 0) oddNul++
  }
  if (oddNul >= n * 0.6 && evenNul < n * 0.2) return 'le'
  if (evenNul >= n * 0.6 && oddNul < n * 0.2) return 'be'
  return null
}
