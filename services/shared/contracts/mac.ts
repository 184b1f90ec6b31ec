const MAC_DIGITS = /^[0-9a-f]{12}$/

/**
 * Normalises a MAC address written with `:`, `-` or no separator, in any case, to 12 lowercase hex
 * digits (`'7E-FD-7A-E4-31-66'` → `'7efd7ae43166'`). Returns null when it is not a MAC.
 */
export function normaliseMac(input: string): string | null {
  if (input.length !== 12 && input.length !== 17) return null
  const digits = input.length === 17 ? stripSeparators(input) : input.toLowerCase()
  return digits !== null && MAC_DIGITS.test(digits) ? digits : null
}

function stripSeparators(input: string): string | null {
  const sep = input[2]
  if (sep !== ':' && sep !== '-') return null
  let out = ''
  for (let i = 0; i < 17; i++) {
    if (i % 3 === 2) {
      if (input[i] !== sep) return null
    } else out += input[i]
  }
  return out.toLowerCase()
}

/** True when the locally-administered bit of the first octet is set (second hex digit 2, 6, a or e). */
export function isRandomisedMac(normalised: string): boolean {
  const second = normalised[1]
  return second === '2' || second === '6' || second === 'a' || second === 'e'
}

const HEX = '[0-9a-f]'
/** Six pairs with any mix of `:`, `-`, `.` and `_` between them (`7e:fd-7a:e4:31:66`). */
const SEPARATED = String.raw`${HEX}{2}(?:[:\-._]${HEX}{2}){5}`
/** Cisco's three dotted groups of four (`7efd.7ae4.3166`). */
const DOTTED = String.raw`(?<!${HEX})${HEX}{4}\.${HEX}{4}\.${HEX}{4}(?!${HEX})`
/** 12 bare digits with a non-hex neighbour on each side: longer hex runs and 13-digit epochs stay. */
const BARE = `(?<!${HEX})${HEX}{12}(?!${HEX})`
/** A random (version 4) UUID, which carries no address (a version 1 UUID ends with one). */
const UUID_V4 = `(?<!${HEX})${HEX}{8}-${HEX}{4}-4${HEX}{3}-[89ab]${HEX}{3}-${HEX}{12}(?!${HEX})`

/**
 * Any MAC-looking token in free text: `aa:bb:cc:dd:ee:ff`, `aa-bb-…`, separators mixed, Cisco's
 * `aabb.ccdd.eeff`, or 12 bare hex digits — even glued to other characters (`mac_7efd7ae43166`,
 * `id7e:fd:…`). Bare digits need a non-hex neighbour on each side, so longer hex runs and 13-digit
 * epoch milliseconds are left alone.
 */
export const MAC_IN_TEXT = new RegExp(`${SEPARATED}|${DOTTED}|${BARE}`, 'gi')
const MAC_OR_UUID = new RegExp(`(${UUID_V4})|${SEPARATED}|${DOTTED}|${BARE}`, 'gi')
const ONE_MAC = new RegExp(`${SEPARATED}|${DOTTED}|${BARE}`, 'i')

export const REDACTED_MAC = 'xx:xx:xx:xx:xx:xx'

/**
 * `\u0037` and the like (an odd number of backslashes before the `u`) written for a hex digit or a
 * separator, as JSON and JavaScript allow: decoded so that an escaped MAC is seen as one. Only these
 * characters are decoded, so JSON text stays valid JSON.
 */
const ESCAPED_MAC_CHAR = /(?<!\\)((?:\\\\)*)\\u00(3[0-9a]|2[de]|4[1-6]|5f|6[1-6])/gi

/**
 * The text as a reader sees it: escapes of hex digits and separators decoded and, when it has any
 * non-ASCII character, full-width and other compatibility forms folded (NFKC: `７ｅ` → `7e`) and
 * invisible format characters (zero-width space, soft hyphen…) removed, so none of them can hide a
 * MAC from the patterns.
 */
function asRead(input: string): string {
  // eslint-disable-next-line no-control-regex
  const text = /[^\x00-\x7f]/.test(input) ? input.normalize('NFKC').replace(/\p{Cf}/gu, '') : input
  if (!text.includes('\\u00')) return text
  return text.replace(ESCAPED_MAC_CHAR, (_m, slashes: string, code: string) => {
    return slashes + String.fromCharCode(parseInt(code, 16))
  })
}

/**
 * Replaces every MAC-looking token with `xx:xx:xx:xx:xx:xx`, after decoding `\u00XX` escapes of
 * hex digits and separators. `keepUuids` leaves random (v4) UUIDs whole — API key ids and request
 * ids in logs — whose last group would otherwise read as 12 bare digits; use it only for text
 * Miglio writes itself, never for what a gateway sent.
 */
export function redactMacs(text: string, opts: { keepUuids?: boolean } = {}): string {
  const decoded = asRead(text)
  if (opts.keepUuids)
    return decoded.replace(MAC_OR_UUID, (m, uuid: string | undefined) => uuid ?? REDACTED_MAC)
  return decoded.replace(MAC_IN_TEXT, REDACTED_MAC)
}

/** True when the text holds anything `redactMacs` would replace (escapes decoded first). */
export function containsMac(text: string): boolean {
  return ONE_MAC.test(asRead(text))
}
