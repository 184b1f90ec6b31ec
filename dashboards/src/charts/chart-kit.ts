import type { Selection } from 'd3'

export type Svg = Selection<SVGSVGElement, unknown, null, undefined>
export type Group = Selection<SVGGElement, unknown, null, undefined>

export const SVG_NS = 'http://www.w3.org/2000/svg'
export const FONT_SIZE = 12
// jsdom cannot measure text and snapshots must not depend on fonts, so widths are estimated per character.
export const CHAR_WIDTH = 7
export const MIN_WIDTH = 280
export const TEXT_COLOUR = '#1f2933'
export const MUTED_COLOUR = '#52606d'
export const GRID_COLOUR = '#d9dee3'
export const SURFACE_COLOUR = '#ffffff'
export const NO_DATA_COLOUR = '#eef1f4'

/**
 * Okabe–Ito: eight colours told apart with every common form of colour blindness
 * (https://jfly.uni-koeln.de/color/). Charts also vary dash, shape or position, never colour alone.
 */
export const okabeIto = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const

/** Passers-by and visitors everywhere: the same pair as the footfall bars. */
export const measureColours = { passersBy: okabeIto.blue, visitors: okabeIto.orange } as const

/**
 * A single-hue sequential ramp (light to dark blue), monotonic in lightness so it reads in grey and
 * with any colour-vision deficiency. Nine steps from ColorBrewer "Blues".
 */
export const sequentialBlues = [
  '#f7fbff',
  '#deebf7',
  '#c6dbef',
  '#9ecae1',
  '#6baed6',
  '#4292c6',
  '#2171b5',
  '#08519c',
  '#08306b',
] as const

/** The ramp colour for `value` in [0, max]; zero gets the lightest step. */
export function sequentialColour(value: number, maxValue: number): string {
  if (!(maxValue > 0) || !(value > 0)) return sequentialBlues[0]
  const steps = sequentialBlues.length - 1
  const index = 1 + Math.min(steps - 1, Math.floor((value / maxValue) * steps))
  return sequentialBlues[index] ?? sequentialBlues[8]
}

/** Text on a ramp colour stays readable: white on the dark half. */
export function textOn(fill: string): string {
  const index = sequentialBlues.indexOf(fill as (typeof sequentialBlues)[number])
  return index >= 5 ? '#ffffff' : TEXT_COLOUR
}

export interface StateLabels {
  loading: string
  empty: string
}

export function textWidth(text: string, fontSize = FONT_SIZE): number {
  return Math.ceil((text.length * CHAR_WIDTH * fontSize) / FONT_SIZE)
}

export function nodeOf(selection: { node(): SVGSVGElement | null }): SVGSVGElement {
  const node = selection.node()
  if (!node) throw new Error('chart: the SVG element was not created')
  return node
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), Math.max(low, high))
}

/** One decimal: stable snapshots, no visible difference. */
export function round(value: number): number {
  return Math.round(value * 10) / 10
}

export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`
}

export function chartWidth(width: number): number {
  return Math.max(MIN_WIDTH, Math.round(width))
}

/** A nice tick step count for an axis of `length` pixels. */
export function tickCount(length: number, spacing = 80): number {
  return Math.max(2, Math.floor(length / spacing))
}
