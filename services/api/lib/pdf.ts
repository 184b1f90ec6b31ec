import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { AppError } from '../../shared/errors.ts'

/**
 * HTML to PDF with a headless Chromium, through the DevTools protocol's Page.printToPDF: one
 * Chromium per document, spoken to over `--remote-debugging-pipe` (file descriptors 3 and 4,
 * NUL-terminated JSON), so no port is opened and no package is needed. The page is loaded from a
 * data: URL; the report pages hold no external resource and Chromium is started with networking
 * features off, so nothing is fetched from the internet.
 */

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--no-first-run',
  '--no-default-browser-check',
  '--remote-debugging-pipe',
]

export type PdfOptions = {
  /** The Chromium executable (API_REPORT_CHROMIUM). */
  chromium: string
  timeoutMs?: number
}

type CdpMessage = {
  id?: number
  method?: string
  sessionId?: string
  result?: Record<string, unknown>
  error?: { message: string }
}

/** Renders `html` as an A4 PDF (the page's own @page rules win). */
export async function renderPdf(html: string, o: PdfOptions): Promise<Buffer> {
  if (!existsSync(o.chromium))
    throw new AppError(
      'internal',
      `no Chromium at ${o.chromium} to render the PDF (set API_REPORT_CHROMIUM; the HTML report works without it)`,
      { statusCode: 503 },
    )
  const profile = await mkdtemp(join(tmpdir(), 'miglio-pdf-'))
  // Its own process group: Chromium forks helpers (zygote, renderer, crash handler) that outlive a
  // killed browser process and keep writing into the profile; the group is killed as a whole.
  const child = spawn(o.chromium, [...ARGS, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString()
  })
  const input = child.stdio[3] as Writable
  const output = child.stdio[4] as Readable
  const pending = new Map<
    number,
    { resolve: (m: CdpMessage) => void; reject: (e: Error) => void }
  >()
  const listeners: ((m: CdpMessage) => void)[] = []
  let buffer = ''
  let nextId = 1
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e)
    pending.clear()
  }
  output.on('data', (d: Buffer) => {
    buffer += d.toString('utf8')
    let end: number
    while ((end = buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(buffer.slice(0, end)) as CdpMessage
      buffer = buffer.slice(end + 1)
      if (message.id !== undefined) {
        const p = pending.get(message.id)
        pending.delete(message.id)
        if (message.error) p?.reject(new Error(message.error.message))
        else p?.resolve(message)
      } else for (const l of listeners) l(message)
    }
  })
  child.on('error', (e) => failAll(e))
  child.on('exit', (code) => failAll(new Error(`Chromium exited (${code}): ${stderr.trim()}`)))
  input.on('error', (e) => failAll(e))
  const send = (method: string, params: object = {}, sessionId?: string) =>
    new Promise<CdpMessage>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      input.write(
        `${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`,
      )
    })
  const timeoutMs = o.timeoutMs ?? 30_000
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Chromium did not render the PDF within ${timeoutMs} ms`)),
      timeoutMs,
    )
  })
  const render = async (): Promise<Buffer> => {
    const target = await send('Target.createTarget', { url: 'about:blank' })
    const attached = await send('Target.attachToTarget', {
      targetId: target.result?.targetId,
      flatten: true,
    })
    const session = String(attached.result?.sessionId)
    await send('Page.enable', {}, session)
    const loaded = new Promise<void>((resolve) => {
      listeners.push((m) => {
        if (m.sessionId === session && m.method === 'Page.loadEventFired') resolve()
      })
    })
    const url = `data:text/html;charset=utf-8;base64,${Buffer.from(html).toString('base64')}`
    await send('Page.navigate', { url }, session)
    await loaded
    const pdf = await send(
      'Page.printToPDF',
      { printBackground: true, preferCSSPageSize: true, paperWidth: 8.27, paperHeight: 11.69 },
      session,
    )
    await send('Browser.close').catch(() => undefined)
    return Buffer.from(String(pdf.result?.data ?? ''), 'base64')
  }
  try {
    return await Promise.race([render(), timeout])
  } catch (e) {
    throw new AppError('internal', `PDF rendering failed: ${(e as Error).message}`, {
      statusCode: 503,
      cause: e,
    })
  } finally {
    clearTimeout(timer)
    const exited =
      child.exitCode === null && child.signalCode === null
        ? new Promise((r) => child.once('exit', r))
        : null
    killGroup(child.pid)
    await exited
    await removeProfile(profile)
  }
}

/** Kills Chromium's process group (the browser and every helper it forked); gone already is fine. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // ESRCH: the group has no process left.
  }
}

/**
 * Deletes the throwaway profile. A helper still exiting may add a file while the tree is removed
 * (ENOTEMPTY), so it is tried again; a profile that still cannot be removed is left in the temp
 * directory rather than failing a PDF that was rendered (it was once a 500 for a good report).
 */
async function removeProfile(profile: string): Promise<void> {
  await rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(
    () => undefined,
  )
}

/** At most `limit` renders at once (each is a Chromium of ~150 MB); the rest wait in turn. */
export function createPdfQueue(limit: number) {
  let running = 0
  const waiting: (() => void)[] = []
  return async function queued(html: string, o: PdfOptions): Promise<Buffer> {
    if (running >= limit) await new Promise<void>((r) => waiting.push(r))
    running++
    try {
      return await renderPdf(html, o)
    } finally {
      running--
      waiting.shift()?.()
    }
  }
}
