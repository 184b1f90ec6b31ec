import { readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import * as prettier from 'prettier'
import type { TransitComparison } from './compare.ts'

// The suite's result table: printed at the end of a run and, with FAULTS_DOC=1, written into
// docs/faults.md between its markers.

export type FaultRow = {
  fault: string
  /** Batches the simulator published / recorded in ingest_batches (each once). */
  published: number
  recorded: number
  batchesExact: boolean
  transits: number
  baselineTransits: number
  open: number
  comparison: TransitComparison | null
  openDiff: number
  zonesEqual: boolean
  devicesEqual: boolean | null
  recoveryS: number | null
  /** What /metrics and the logs showed during and after the fault. */
  evidence: string[]
  healthy: boolean
}

const n = (x: number) => x.toLocaleString('en-US').replaceAll(',', ' ')

export function tableOf(rows: readonly FaultRow[]): string {
  const head =
    '| run | batches published → recorded once | transits (closed / open) | lost | duplicated | split / merged | sightings lost / duplicated | zones & open sessions | recovery s |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'
  const lines = rows.map((r) => {
    const c = r.comparison
    const sightings = c ? [...c.sightingDiff.values()] : []
    const lostS = sightings.filter((d) => d > 0).reduce((s, d) => s + d, 0)
    const dupS = -sightings.filter((d) => d < 0).reduce((s, d) => s + d, 0)
    return [
      r.fault,
      `${n(r.published)} → ${n(r.recorded)}${r.batchesExact ? ' (the same set)' : ' (**sets differ**)'}`,
      `${n(r.transits)} / ${n(r.open)}${c ? (r.transits === r.baselineTransits ? '' : ` (baseline ${n(r.baselineTransits)})`) : ''}`,
      c ? String(c.lost.length) : '—',
      c ? String(c.duplicated.length) : '—',
      c ? `${c.splits.length} / ${c.merges.length}` : '—',
      c ? `${lostS} / ${dupS}` : '—',
      c ? (r.zonesEqual && r.openDiff === 0 ? 'equal' : `**differ** (open Δ ${r.openDiff})`) : '—',
      r.recoveryS === null ? '—' : r.recoveryS.toFixed(1),
    ].join(' | ')
  })
  return [head, ...lines.map((l) => `| ${l} |`)].join('\n')
}

export function evidenceOf(rows: readonly FaultRow[]): string {
  return rows
    .filter((r) => r.evidence.length > 0)
    .map((r) => `- **${r.fault}**: ${r.evidence.join('; ')}.`)
    .join('\n')
}

export function machine(): string {
  const cpu = cpus()
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`
}

const START = '<!-- faults-table:start -->'
const END = '<!-- faults-table:end -->'

/** Replaces the text between the table markers of `docFile`, and formats the file. */
export async function writeIntoDoc(docFile: string, text: string): Promise<void> {
  const doc = await readFile(docFile, 'utf8')
  const a = doc.indexOf(START)
  const b = doc.indexOf(END)
  if (a < 0 || b < a) throw new Error(`${docFile} has no ${START} … ${END} markers`)
  const updated = `${doc.slice(0, a + START.length)}\n${text}\n${doc.slice(b)}`
  // Formatted as `npm run lint` expects (prettier aligns the table's columns).
  const options = await prettier.resolveConfig(docFile)
  await writeFile(docFile, await prettier.format(updated, { ...options, filepath: docFile }))
}
