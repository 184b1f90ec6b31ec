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

/**
 * Any MAC-looking token in free text (`aa:bb:cc:dd:ee:ff`, `aa-bb-…`, 12 bare hex digits), even when
 * glued to other characters (`mac_7efd7ae43166`, `id7e:fd:…`). Bare digits need a non-hex neighbour
 * on each side, so longer hex runs and 13-digit epoch milliseconds are left alone.
 */
export const MAC_IN_TEXT =
  /[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])/gi

/** Replaces every MAC-looking token with `xx:xx:xx:xx:xx:xx`. */
export function redactMacs(text: string): string {
  return text.replace(MAC_IN_TEXT, 'xx:xx:xx:xx:xx:xx')
}
