/**
 * The path of the first string (value or object key) holding a NUL character in `value`, as
 * `name.field.0` (the way validation errors name fields), or null. PostgreSQL text cannot hold
 * NUL, so such input would otherwise reach the database and fail there.
 */
export function findNul(value: unknown, name: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? name : null
  if (!value || typeof value !== 'object' || depth > 32) return null
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findNul(v, `${name}.${i}`, depth + 1)
      if (hit) return hit
    }
    return null
  }
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return name
    const hit = findNul(v, `${name}.${k}`, depth + 1)
    if (hit) return hit
  }
  return null
}
