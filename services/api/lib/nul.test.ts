import { describe, expect, it } from 'vitest'
import { findNul } from './nul.ts'

describe(findNul.name, () => {
  it.each([
    [{ name: 'a\u0000b' }, 'body.name'],
    [{ name: 'ok', zones: ['a', 'b\u0000'] }, 'body.zones.1'],
    [{ deep: { er: [{ x: '\u0000' }] } }, 'body.deep.er.0.x'],
    [{ 'k\u0000ey': 'v' }, 'body'],
    ['\u0000', 'body'],
  ])('finds the NUL in %j at %s', (value, path) => {
    expect(findNul(value, 'body')).toBe(path)
  })

  it.each([[{ name: 'fine', n: 1, b: true, z: null }], ['text'], [42], [null], [undefined]])(
    'finds nothing in %j',
    (value) => {
      expect(findNul(value, 'body')).toBeNull()
    },
  )
})
