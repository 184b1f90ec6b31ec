// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { sequentialBlues } from './chart-kit.ts'
import { goldenOf, pathNumbers } from './svg-markup.ts'
import {
  healthStyle,
  renderZoneMap,
  type MapZone,
  type ZoneMapData,
  type ZoneMapOptions,
} from './zone-map.ts'

/** A rectangle around [lon, lat] (half sizes in degrees), wound clockwise or anticlockwise. */
function box(lon: number, lat: number, dLon: number, dLat: number, clockwise: boolean) {
  const ring = [
    [lon - dLon, lat - dLat],
    [lon - dLon, lat + dLat],
    [lon + dLon, lat + dLat],
    [lon + dLon, lat - dLat],
    [lon - dLon, lat - dLat],
  ]
  return { type: 'Polygon' as const, coordinates: [clockwise ? ring : [...ring].reverse()] }
}

// A street running south-west like Mestre's: three street zones and three shops along them. Shops
// are wound the GeoJSON way (anticlockwise), streets the d3 way: both must draw as small shapes.
const zones: MapZone[] = [
  {
    id: 'via-nord',
    name: 'Via Nord',
    kind: 'street',
    streetFromM: 0,
    geometry: box(12.244, 45.494, 0.0008, 0.0008, true),
  },
  {
    id: 'piazza',
    name: 'Piazza Grande',
    kind: 'square',
    streetFromM: 300,
    geometry: box(12.2425, 45.4925, 0.0006, 0.0006, true),
  },
  {
    id: 'via-sud',
    name: 'Via Sud',
    kind: 'street',
    streetFromM: 600,
    geometry: box(12.241, 45.491, 0.0008, 0.0008, true),
  },
  {
    id: 'forno',
    name: 'Forno Nord',
    kind: 'shop',
    streetFromM: 100,
    geometry: box(12.2437, 45.4937, 0.00008, 0.00008, false),
  },
  {
    id: 'bar',
    name: 'Bar della Piazza',
    kind: 'shop',
    streetFromM: 320,
    geometry: box(12.2424, 45.4924, 0.00008, 0.00008, false),
  },
  {
    id: 'libri',
    name: 'Libreria Sud',
    kind: 'shop',
    streetFromM: 650,
    geometry: box(12.2408, 45.4908, 0.00008, 0.00008, false),
  },
]

const data: ZoneMapData = {
  zones,
  footfall: { 'via-nord': 1200, piazza: 2400, 'via-sud': 600, forno: 150, bar: 300, libri: 0 },
  gateways: [
    { id: 'gw-via-nord', zoneId: 'via-nord', health: 'ok', position: [12.2443, 45.4942] },
    { id: 'gw-piazza', zoneId: 'piazza', health: 'silent', position: [12.2425, 45.4925] },
    { id: 'gw-via-sud', zoneId: 'via-sud', health: 'ok', position: [12.2412, 45.4907] },
    { id: 'gw-forno', zoneId: 'forno', health: 'offline', position: [12.2437, 45.4937] },
    { id: 'gw-bar', zoneId: 'bar', health: 'ok', position: [12.2424, 45.4924] },
    { id: 'gw-libri', zoneId: 'libri', health: 'unknown', position: [12.2408, 45.4908] },
  ],
  live: { 'via-nord': 41, piazza: 1234, 'via-sud': 7, forno: 3, bar: 12, libri: 0 },
}

const en: ZoneMapOptions = {
  width: 800,
  locale: 'en-GB',
  labels: {
    loading: 'Loading…',
    empty: 'No zones',
    footfall: 'Transits in range',
    live: 'transits in the last 15 min (live)',
    gateways: 'Gateways',
    health: {
      ok: 'OK',
      silent: 'Silent',
      offline: 'Offline',
      unknown: 'Never heard',
      inactive: 'Inactive',
    },
    north: 'North',
  },
}

const fillOf = (svg: SVGSVGElement, id: string) =>
  svg
    .querySelector(`[data-zone-id="${id}"] circle, path[data-zone-id="${id}"]`)
    ?.getAttribute('fill')
const step = (colour: string | null | undefined) =>
  sequentialBlues.indexOf(colour as (typeof sequentialBlues)[number])

describe(renderZoneMap.name, () => {
  it('draws streets as shapes and shops as markers along the street, left to right', async () => {
    const sut = renderZoneMap(document.createElement('div'), data, en)

    expect(sut.querySelectorAll('path.zone-street')).toHaveLength(3)
    expect(sut.querySelectorAll('g.zone-shop')).toHaveLength(3)
    const xOf = (id: string) =>
      Number(
        /translate\(([-\d.]+),/.exec(
          sut.querySelector(`g.zone-shop[data-zone-id="${id}"]`)?.getAttribute('transform') ?? '',
        )?.[1],
      )
    expect(xOf('forno')).toBeLessThan(xOf('bar'))
    expect(xOf('bar')).toBeLessThan(xOf('libri'))
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/zone-map.svg')
  })

  it('draws every zone inside the picture, whatever the winding of its ring', () => {
    const sut = renderZoneMap(document.createElement('div'), data, en)

    const height = Number(sut.getAttribute('height'))
    for (const path of sut.querySelectorAll('path.zone-street')) {
      const numbers = pathNumbers(path.getAttribute('d'))
      const xs = numbers.filter((_, i) => i % 2 === 0)
      const ys = numbers.filter((_, i) => i % 2 === 1)
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(0)
      expect(Math.max(...xs)).toBeLessThanOrEqual(800)
      expect(Math.max(...ys)).toBeLessThanOrEqual(height)
    }
  })

  it('colours zones darker with more footfall on one scale', () => {
    const sut = renderZoneMap(document.createElement('div'), data, en)

    expect(step(fillOf(sut, 'piazza'))).toBe(sequentialBlues.length - 1)
    expect(step(fillOf(sut, 'via-nord'))).toBeGreaterThan(step(fillOf(sut, 'via-sud')))
    expect(step(fillOf(sut, 'bar'))).toBeGreaterThan(step(fillOf(sut, 'forno')))
    expect(step(fillOf(sut, 'libri'))).toBe(0)
    const ramp = [...sut.querySelectorAll('g.map-legend > text')].map((t) => t.textContent)
    expect(ramp).toEqual(expect.arrayContaining(['Transits in range', '0', '2,400']))
  })

  it('marks each gateway with a health colour and shape, and lists only the healths present', () => {
    const sut = renderZoneMap(document.createElement('div'), data, en)

    const mark = sut.querySelector('path[data-gateway-id="gw-forno"]')
    expect(mark?.getAttribute('fill')).toBe(healthStyle.offline.fill)
    expect(mark?.getAttribute('d')).toBe(healthStyle.offline.path)
    expect(healthStyle.offline.path).not.toBe(healthStyle.ok.path)
    expect(sut.querySelectorAll('path.gateway')).toHaveLength(6)
    expect([...sut.querySelectorAll('g.legend-item')].map((g) => g.textContent)).toEqual([
      'OK',
      'Silent',
      'Offline',
      'Never heard',
    ])
    expect(sut.getAttribute('aria-label')).toContain(
      'Gateways: gw-piazza Silent, gw-forno Offline, gw-libri Never heard',
    )
  })

  it('draws each gateway where it is installed, and keeps one outside the zones in view', () => {
    const sut = renderZoneMap(document.createElement('div'), data, en)
    const at = (svg: SVGSVGElement, id: string) =>
      (
        /translate\(([-\d.]+),([-\d.]+)\)/
          .exec(svg.querySelector(`[data-gateway-id="${id}"]`)?.getAttribute('transform') ?? '')
          ?.slice(1) ?? []
      ).map(Number)
    const shopAt = (id: string) =>
      (
        /translate\(([-\d.]+),([-\d.]+)\)/
          .exec(
            sut.querySelector(`g.zone-shop[data-zone-id="${id}"]`)?.getAttribute('transform') ?? '',
          )
          ?.slice(1) ?? []
      ).map(Number)

    // A shop's gateway at the shop's centre sits on the shop's marker.
    for (const [gateway, shop] of [
      ['gw-forno', 'forno'],
      ['gw-libri', 'libri'],
    ] as const) {
      const [gx = NaN, gy = NaN] = at(sut, gateway)
      const [sx = NaN, sy = NaN] = shopAt(shop)
      expect(Math.hypot(gx - sx, gy - sy)).toBeLessThan(1)
    }
    // Moving a gateway south-west, down the street, moves its mark right; its zone stays put.
    const moved = renderZoneMap(
      document.createElement('div'),
      {
        ...data,
        gateways: data.gateways.map((g) =>
          g.id === 'gw-piazza' ? { ...g, position: [12.242, 45.492] as const } : g,
        ),
      },
      en,
    )
    expect(at(moved, 'gw-piazza')[0]).toBeGreaterThan((at(sut, 'gw-piazza')[0] ?? 0) + 5)
    expect(moved.querySelector('path[data-zone-id="piazza"]')?.getAttribute('d')).toBe(
      sut.querySelector('path[data-zone-id="piazza"]')?.getAttribute('d'),
    )
    // A gateway mounted beyond the last zone widens the fit instead of leaving the picture.
    const outside = renderZoneMap(
      document.createElement('div'),
      {
        ...data,
        gateways: [
          ...data.gateways,
          { id: 'gw-far', zoneId: 'via-sud', health: 'ok', position: [12.2395, 45.4895] },
        ],
      },
      en,
    )
    const [fx = NaN, fy = NaN] = at(outside, 'gw-far')
    expect(fx).toBeGreaterThan(0)
    expect(fx).toBeLessThan(800)
    expect(fy).toBeGreaterThan(0)
    expect(fy).toBeLessThan(Number(outside.getAttribute('height')))
  })

  it('shows the live layer as figures next to the zone names, in the locale', () => {
    const english = renderZoneMap(document.createElement('div'), data, en)
    const italian = renderZoneMap(document.createElement('div'), data, { ...en, locale: 'it-IT' })
    const without = renderZoneMap(document.createElement('div'), { ...data, live: undefined }, en)

    const live = (svg: SVGSVGElement, id: string) =>
      svg.querySelector(`.live-value[data-zone-id="${id}"]`)?.textContent?.trim()
    expect(live(english, 'piazza')).toBe('1,234')
    expect(live(italian, 'piazza')).toBe('1.234')
    expect(live(english, 'bar')).toBe('12')
    expect(without.querySelectorAll('.live-value')).toHaveLength(0)
    expect(without.querySelector('.legend-live')).toBeNull()
    expect(english.querySelector('.legend-live')?.textContent).toContain('last 15 min')
  })

  it('keeps street names apart when the map is narrow', () => {
    const sut = renderZoneMap(document.createElement('div'), data, { ...en, width: 320 })

    const labels = [...sut.querySelectorAll('g.street-labels > text')].map((t) => ({
      x: Number(t.getAttribute('x')),
      y: Number(t.getAttribute('y')),
      w: (t.firstChild?.textContent?.length ?? 0) * 11 * 0.6,
    }))
    for (const [i, a] of labels.entries()) {
      for (const b of labels.slice(i + 1)) {
        const overlapX = Math.abs(a.x - b.x) < (a.w + b.w) / 2
        expect(overlapX && a.y === b.y).toBe(false)
      }
    }
  })

  it('has a loading state and an empty state', () => {
    const loading = renderZoneMap(document.createElement('div'), null, en)
    const empty = renderZoneMap(document.createElement('div'), { ...data, zones: [] }, en)

    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe('No zones')
  })

  it('renders the same markup twice', () => {
    const first = renderZoneMap(document.createElement('div'), data, en)
    const second = renderZoneMap(document.createElement('div'), data, en)
    expect(second.outerHTML).toBe(first.outerHTML)
  })
})
