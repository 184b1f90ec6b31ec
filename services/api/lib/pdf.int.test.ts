import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../shared/errors.ts'
import { renderPdf } from './pdf.ts'

/**
 * A "Chromium" that fails at once while a helper it forked keeps writing into the profile — as
 * Chromium's zygote and crash handler do for a moment after the browser process is gone. Removing
 * the profile then raced the helper (ENOTEMPTY) and turned the render's outcome into a bare error:
 * a 500 "internal error" in CI for a report that had nothing wrong with it.
 */
const FAKE_BROWSER = `#!/bin/sh
for a in "$@"; do case "$a" in --user-data-dir=*) dir="\${a#--user-data-dir=}";; esac; done
( i=0; while [ $i -lt 2000 ]; do mkdir -p "$dir/d$i" && echo x > "$dir/d$i/f"; i=$((i+1)); done ) &
exit 3
`

let dir: string
let browser: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'miglio-pdf-test-'))
  browser = join(dir, 'fake-chromium.sh')
  await writeFile(browser, FAKE_BROWSER)
  await chmod(browser, 0o755)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function profilesLeft(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith('miglio-pdf-') && !n.includes('test'))
}

describe('renderPdf', () => {
  it('answers a failed render as 503 and leaves no profile, whatever the browser’s helpers still do', async () => {
    const before = new Set(await profilesLeft())
    for (let i = 0; i < 8; i++) {
      const err = await renderPdf('<p>report</p>', { chromium: browser, timeoutMs: 5000 }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).statusCode).toBe(503)
      expect((err as AppError).message).toMatch(/PDF rendering failed: Chromium exited \(3\)/)
    }
    // The helpers were killed with the browser's process group, so nothing writes there any more.
    expect((await profilesLeft()).filter((n) => !before.has(n))).toEqual([])
  })

  it('says which setting to fix when there is no Chromium', async () => {
    const err = await renderPdf('<p/>', { chromium: join(dir, 'absent') }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect((err as AppError).statusCode).toBe(503)
    expect((err as AppError).message).toMatch(/API_REPORT_CHROMIUM/)
  })
})
