import { Writable } from 'node:stream'
import { startOfLocalDay } from '../contracts/local-time.ts'
import { createLogger, type Logger } from '../logger.ts'

/**
 * A MAC as text, the ways gateways write one: `aa:bb:cc:dd:ee:ff`, `AA-BB-…` (one separator
 * throughout, hence the back-reference) or 12 bare hex digits.
 *
 * This is the tests' own detector, written independently of the product's redactor
 * (`redactMacs` in contracts/mac.ts) on purpose: a test that reused the redactor's pattern would
 * share its blind spots and could never catch a MAC the redactor misses.
 */
export const MAC_PATTERN = /[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|\b[0-9a-f]{12}\b/i

/**
 * `tag` followed by 6 random hex digits. Every test file (and every run of it) talks under a topic
 * prefix of its own, so files sharing a broker never see each other's messages.
 */
export function randomTopicPrefix(tag: string): string {
  return `${tag}${Math.random().toString(16).slice(2, 8)}`
}

/**
 * A logger whose lines are kept in memory; `text()` is everything logged so far. The lines pass
 * through the product's logger (and so its MAC redaction), as they would in production.
 */
export function createLogCapture(level: string): { log: Logger; text(): string } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString())
      cb()
    },
  })
  return { log: createLogger({ level, destination }), text: () => lines.join('') }
}

type MetricSnapshot = {
  get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }>
}

/**
 * The current value of a prom-client counter (or gauge): of the series with all of `labels` when
 * given, else of its first series; 0 when there is none yet.
 */
export async function counterValue(
  metric: MetricSnapshot,
  labels: Record<string, string> = {},
): Promise<number> {
  const wanted = Object.entries(labels)
  const series = (await metric.get()).values.find((v) =>
    wanted.every(([name, value]) => v.labels[name] === value),
  )
  return series?.value ?? 0
}

/**
 * An instant at least a minute before `nowMs` such that the `spanMs` before it fall within one local
 * day of `tz`. Daily pseudonymisation keys give a device a new pseudonym at local midnight, so a test
 * window that straddles midnight sees one device as two (by design); tests that count transits must
 * not depend on the hour they run at. Right after midnight the window moves to the end of the
 * previous day, whose key lives on for the grace period.
 */
export function oneDayWindowEnd(spanMs: number, tz = 'Europe/Rome', nowMs = Date.now()): number {
  const end = nowMs - 60_000
  const dayStart = startOfLocalDay(end, tz)
  return end - spanMs >= dayStart ? end : dayStart - 60_000
}
