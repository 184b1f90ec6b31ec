import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EnvSchema } from './config.ts'

// The docs must stay true to the code: every key the config reads is in .env.example and in the
// README's configuration table, and neither lists a key the code does not read.
const root = new URL('../../', import.meta.url)
const schemaKeys = Object.keys(EnvSchema.shape).sort()

describe('configuration docs', () => {
  it('.env.example lists exactly the keys the config reads', () => {
    const text = readFileSync(new URL('.env.example', root), 'utf8')
    const keys = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort()
    expect(keys).toEqual(schemaKeys)
  })

  it("the README's configuration table lists exactly the keys the config reads", () => {
    const text = readFileSync(new URL('README.md', root), 'utf8')
    const keys = [...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]).sort()
    expect(keys).toEqual(schemaKeys)
  })
})
