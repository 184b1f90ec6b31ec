import type { Target } from './stack.ts'

export type BenchContext = {
  quick: boolean
  repeats: number
  target: Target
  /** Figures other benchmarks may reuse (e.g. the ingest saturation for the latency load). */
  shared: { miglioSaturation?: number }
  /** The whole Brno corpus (`--brno-dir` / BRNO_DIR): the brno benchmark evaluates on it too. */
  brnoDir?: string
  /** Database versions, filled by the first benchmark that opens a database. */
  versions: { postgres?: string; timescaledb?: string }
}

/** What a benchmark returns for the JSON file: its settings and figures. */
export type BenchResult = {
  settings: Record<string, unknown>
  figures: Record<string, unknown>
  notes: string[]
  /** 1-minute load average when the benchmark started and ended (main.ts fills it). */
  loadAverage?: { start: number; end: number }
}
