import {
  HOUR_MS,
  localHourOf,
  startOfLocalDay,
  startOfNextLocalDay,
} from '../../../services/shared/contracts/local-time.ts'
import { TEXT_COLOUR, round, tickCount } from './chart-kit.ts'
import type { Frame } from './frame.ts'

/**
 * Tick instants on local wall-clock boundaries in [from, to]: every few local hours for a day or
 * so, local midnights for longer spans; sparser when the axis is short.
 */
export function localTicks(
  fromMs: number,
  toMs: number,
  timeZone: string,
  maxTicks: number,
): { ticks: number[]; daily: boolean } {
  const span = toMs - fromMs
  const daily = span > 36 * HOUR_MS
  const ticks: number[] = []
  if (daily) {
    const days = Math.ceil(span / (24 * HOUR_MS))
    const step = Math.max(1, Math.ceil(days / Math.max(1, maxTicks)))
    let t = startOfLocalDay(fromMs, timeZone)
    if (t < fromMs) t = startOfNextLocalDay(fromMs, timeZone)
    let i = 0
    while (t <= toMs) {
      if (i % step === 0) ticks.push(t)
      t = startOfNextLocalDay(t, timeZone)
      i += 1
    }
    return { ticks, daily }
  }
  const hours = span / HOUR_MS
  const step = [1, 2, 3, 6, 12].find((s) => hours / s <= maxTicks) ?? 24
  let t = Math.ceil(fromMs / HOUR_MS) * HOUR_MS
  for (; t <= toMs; t += HOUR_MS) {
    if (localHourOf(t, timeZone) % step === 0) ticks.push(t)
  }
  return { ticks, daily }
}

/**
 * A time x-axis along the bottom of the plot: its line, and a tick with a label on each local
 * wall-clock boundary of `localTicks` (hours, or dates over several days) in the district's zone.
 */
export function drawLocalTimeAxis(
  frame: Frame,
  plot: { left: number; width: number; top: number; height: number; x: (t: number) => number },
  span: { fromMs: number; toMs: number; timeZone: string },
  dates: { day(d: Date): string; time(d: Date): string },
): void {
  const { ticks, daily } = localTicks(
    span.fromMs,
    span.toMs,
    span.timeZone,
    tickCount(plot.width, 90),
  )
  const axis = frame.svg
    .append('g')
    .attr('class', 'x-axis')
    .attr('transform', `translate(0,${plot.top + plot.height})`)
  axis
    .append('line')
    .attr('x1', plot.left)
    .attr('x2', plot.left + plot.width)
    .attr('stroke', TEXT_COLOUR)
  for (const tick of ticks) {
    const tx = round(plot.x(tick))
    axis.append('line').attr('x1', tx).attr('x2', tx).attr('y2', 5).attr('stroke', TEXT_COLOUR)
    axis
      .append('text')
      .attr('x', tx)
      .attr('y', 18)
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(daily ? dates.day(new Date(tick)) : dates.time(new Date(tick)))
  }
}
