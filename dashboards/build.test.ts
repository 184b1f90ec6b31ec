/// <reference types="node" />
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildDashboards, dashboardsSourceDir } from './build.ts'

describe(buildDashboards.name, () => {
  let outDir: string | undefined

  afterEach(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true })
    outDir = undefined
  })

  it('bundles the page into a self-contained folder', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'miglio-dashboards-'))

    const sut = await buildDashboards(join(outDir, 'dist'))

    expect(sut.outDir).toBe(join(outDir, 'dist'))
    expect(sut.files).toEqual(['app.js', 'app.js.map', 'index.html', 'styles.css'])
    for (const file of sut.files) expect(existsSync(join(sut.outDir, file))).toBe(true)
    const appJs = await readFile(join(sut.outDir, 'app.js'), 'utf8')
    expect(appJs).not.toContain('process.env')
    expect(appJs).toContain('miglio.apiKey')
    const html = await readFile(join(sut.outDir, 'index.html'), 'utf8')
    expect(html).toContain('src="app.js"')
  })

  it('reads its sources next to itself', () => {
    expect(existsSync(join(dashboardsSourceDir(), 'main.ts'))).toBe(true)
  })
})
