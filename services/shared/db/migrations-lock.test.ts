import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS_DIR } from './migrate.ts'

// Merged migrations are frozen: a database that ran a file never runs it again, so an edit would
// leave databases migrated before and after it with different schemas. migrations/manifest.json
// holds the SHA-256 of every merged file; changing the schema means adding a file, and a new file
// is added to the manifest when it is final (docs/architecture.md, "Storage").

const MANIFEST = join(MIGRATIONS_DIR, 'manifest.json')
const sha256 = (file: string) =>
  createHash('sha256')
    .update(readFileSync(join(MIGRATIONS_DIR, file)))
    .digest('hex')
const sqlFiles = () =>
  readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
const manifest = () => JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>

describe('migrations/manifest.json', () => {
  it('holds the SHA-256 of every migration file, unchanged since it was merged', () => {
    const locked = manifest()
    const problems: string[] = []
    for (const file of sqlFiles()) {
      const actual = sha256(file)
      if (!(file in locked))
        problems.push(
          `migrations/${file} is not in migrations/manifest.json. Once it is final, add\n    "${file}": "${actual}"`,
        )
      else if (locked[file] !== actual)
        problems.push(
          `migrations/${file} changed after it was merged (sha256 ${actual}, manifest ${locked[file]}). Merged migrations are frozen: restore it (git checkout main -- migrations/${file}) and make the change in a new migration NNNN_name.sql`,
        )
    }
    for (const file of Object.keys(locked))
      if (!sqlFiles().includes(file))
        problems.push(
          `migrations/${file} is in the manifest but missing: a merged migration is never deleted`,
        )
    expect(problems, problems.join('\n')).toEqual([])
  })

  it('lists the files in order, one SHA-256 each', () => {
    const locked = manifest()
    expect(Object.keys(locked)).toEqual([...Object.keys(locked)].sort())
    for (const [file, hash] of Object.entries(locked)) {
      expect(file).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/)
      expect(hash).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it('names no time zone in any migration: local days follow the district', () => {
    for (const file of sqlFiles()) {
      const text = readFileSync(join(MIGRATIONS_DIR, file), 'utf8')
      expect(text, file).not.toMatch(/'[A-Z][a-z]+\/[A-Za-z_]+'/)
    }
  })
})
