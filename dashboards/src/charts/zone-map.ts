import {
  geoArea,
  geoMercator,
  geoPath,
  max,
  symbol,
  symbolCircle,
  symbolCross,
  symbolDiamond,
  symbolSquare,
  symbolTriangle,
  type GeoPermissibleObjects,
} from 'd3'
import { createCountFormat } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  clamp,
  createSvg,
  drawLegend,
  nodeOf,
  okabeIto,
  renderState,
  round,
  sequentialBlues,
  sequentialColour,
  textWidth,
  truncate,
  type LegendItem,
  type StateLabels,
} from './chart-kit.ts'

export type GatewayHealth = 'ok' | 'silent' | 'offline' | 'unknown' | 'inactive'

export interface MapZone {
  id: string
  name: string
  kind: 'street' | 'shop' | 'square'
  streetFromM: number
  geometry: { type: 'Polygon'; coordinates: number[][][] }
}

export interface ZoneMapData {
  zones: readonly MapZone[]
  /** Footfall (transits) per zone over the chosen range. */
  footfall: Readonly<Record<string, number>>
  /** Gateways at their installed position, `[lon, lat]`. */
  gateways: readonly {
    id: string
    zoneId: string
    health: GatewayHealth
    position: readonly [number, number]
  }[]
  /** Live layer: transits per zone in the last 15 minutes; absent until the feed answers. */
  live?: Readonly<Record<string, number>> | undefined
}

export interface ZoneMapOptions {
  width: number
  locale: string
  labels: StateLabels & {
    footfall: string
    live: string
    gateways: string
    health: Record<GatewayHealth, string>
    north: string
  }
}

/** Health as colour and shape, so it reads without colour too. */
export const healthStyle: Record<GatewayHealth, { fill: string; path: string }> = {
  ok: { fill: okabeIto.bluishGreen, path: symbol(symbolCircle, 64)() ?? '' },
  silent: { fill: okabeIto.orange, path: symbol(symbolTriangle, 70)() ?? '' },
  offline: { fill: okabeIto.vermillion, path: symbol(symbolCross, 70)() ?? '' },
  unknown: { fill: '#8a96a3', path: symbol(symbolDiamond, 60)() ?? '' },
  inactive: { fill: '#c5ccd3', path: symbol(symbolSquare, 56)() ?? '' },
}

const PAD = 16
const SHOP_MARKER_R = 7

type Feature = {
  type: 'Feature'
  id: string
  geometry: MapZone['geometry']
  properties: Record<string, never>
}

/**
 * The district as a strip map: the street turned to run left to right (a north arrow shows the
 * turn), zones filled by footfall, shops as markers labelled at an angle, gateways as health marks
 * where they are installed, street and square names under the street. `live` adds the last 15
 * minutes.
 */
export function renderZoneMap(
  container: Element,
  data: ZoneMapData | null,
  opts: ZoneMapOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const { labels } = opts
  if (!data) {
    return renderState(container, {
      className: 'zone-map',
      width,
      height: 260,
      text: labels.loading,
      loading: true,
    })
  }
  if (data.zones.length === 0) {
    return renderState(container, {
      className: 'zone-map',
      width,
      text: labels.empty,
      loading: false,
    })
  }

  const count = createCountFormat(opts.locale)
  const zones = [...data.zones].sort((a, b) => a.streetFromM - b.streetFromM)
  const features: Feature[] = zones.map((zone) => rewound(zone))
  const collection = { type: 'FeatureCollection' as const, features }
  // The map is fitted to the zones and the gateways, so a gateway just outside its zone stays in view.
  const fitted = {
    type: 'GeometryCollection' as const,
    geometries: [
      ...features.map((f) => f.geometry),
      ...data.gateways.map((g) => ({ type: 'Point' as const, coordinates: [...g.position] })),
    ],
  }
  const streets = zones.filter((z) => z.kind !== 'shop')
  const shops = zones.filter((z) => z.kind === 'shop')

  const angle = alongStreetAngle(collection, streets.length > 0 ? streets : zones)
  const fontSize = width < 520 ? 11 : 12
  const longestShop = max(shops, (s) => labelOf(s, data.live, count).length) ?? 0
  const shopLabelMax = Math.min(longestShop, width < 520 ? 16 : 28)
  const labelLength = shopLabelMax * fontSize * 0.55

  // Shop labels lean just enough to clear each other: their perpendicular spacing is dx·sin(angle).
  const fit = (run: number) => {
    const projection = geoMercator().angle(angle)
    projection.fitWidth(width - 2 * PAD - Math.min(run, width * 0.25), fitted)
    return projection
  }
  const draft = geoPath(fit(labelLength * Math.cos((40 * Math.PI) / 180)))
  const shopXs = shops
    .map(
      (shop) => draft.centroid(features.find((f) => f.id === shop.id) as GeoPermissibleObjects)[0],
    )
    .sort((a, b) => a - b)
  const minGap = Math.min(Infinity, ...shopXs.slice(1).map((x, i) => x - (shopXs[i] ?? x)))
  const needed = (fontSize + 3) / Math.max(1, minGap)
  const labelAngle = needed >= 1 ? 90 : clamp((Math.asin(needed) * 180) / Math.PI, 35, 90)
  const rad = (labelAngle * Math.PI) / 180
  const labelRise = Math.ceil(labelLength * Math.sin(rad)) + 18
  const labelRun = Math.ceil(labelLength * Math.cos(rad))

  const projection = fit(labelRun)
  const path = geoPath(projection)
  const [[, y0], [, y1]] = path.bounds(fitted)
  const bandTop = labelRise + 8
  const [tx, ty] = projection.translate()
  projection.translate([tx + PAD, ty - y0 + bandTop])
  const bandBottom = bandTop + (y1 - y0)
  const streetLabelTop = bandBottom + 24

  const maxValue = max(zones, (z) => data.footfall[z.id] ?? 0) ?? 0
  const fillOf = (id: string) => sequentialColour(data.footfall[id] ?? 0, maxValue)

  const rampItems: LegendItem[] = (['ok', 'silent', 'offline', 'unknown', 'inactive'] as const)
    .filter((h) => h === 'ok' || data.gateways.some((g) => g.health === h))
    .map((h) => ({
      key: `health-${h}`,
      label: labels.health[h],
      swatch: { kind: 'symbol', path: healthStyle[h].path, fill: healthStyle[h].fill },
    }))

  const svg = createSvg(container, {
    className: 'zone-map',
    width,
    height: 10,
    label: describeMap(zones, data, labels, count),
  })
  svg.attr('font-size', fontSize)

  const centroidOf = new Map(features.map((f) => [f.id, path.centroid(f as GeoPermissibleObjects)]))

  svg
    .append('g')
    .attr('class', 'zones')
    .selectAll('path')
    .data(features.filter((f) => streets.some((s) => s.id === f.id)))
    .join('path')
    .attr('class', 'zone zone-street')
    .attr('data-zone-id', (f) => f.id)
    .attr('d', (f) => roundPath(path(f as GeoPermissibleObjects) ?? ''))
    .attr('fill', (f) => fillOf(f.id))
    .attr('stroke', MUTED_COLOUR)
    .attr('stroke-width', 0.75)
    .append('title')
    .text((f) => {
      const zone = zones.find((z) => z.id === f.id)
      return zone ? `${zone.name}: ${count(data.footfall[zone.id] ?? 0)}` : f.id
    })

  const shopLayer = svg.append('g').attr('class', 'shops')
  for (const shop of shops) {
    const [cx, cy] = centroidOf.get(shop.id) ?? [0, 0]
    const g = shopLayer
      .append('g')
      .attr('class', 'zone zone-shop')
      .attr('data-zone-id', shop.id)
      .attr('transform', `translate(${round(cx)},${round(cy)})`)
    g.append('title').text(`${shop.name}: ${count(data.footfall[shop.id] ?? 0)}`)
    g.append('circle')
      .attr('r', SHOP_MARKER_R)
      .attr('fill', fillOf(shop.id))
      .attr('stroke', TEXT_COLOUR)
      .attr('stroke-width', 1.25)
    g.append('line')
      .attr('x1', 0)
      .attr('y1', -SHOP_MARKER_R)
      .attr('x2', 0)
      .attr('y2', round(bandTop - cy - 4))
      .attr('stroke', GRID_COLOUR)
    const label = g
      .append('text')
      .attr('class', 'shop-label')
      .attr('transform', `translate(2,${round(bandTop - cy - 8)}) rotate(${-round(labelAngle)})`)
      .attr('fill', TEXT_COLOUR)
      .text(truncate(shop.name, shopLabelMax))
    const live = data.live?.[shop.id]
    if (live !== undefined) {
      label
        .append('tspan')
        .attr('class', 'live-value')
        .attr('data-zone-id', shop.id)
        .attr('fill', okabeIto.vermillion)
        .attr('font-weight', 700)
        .text(` ${count(live)}`)
    }
  }

  // Drawn over the shop markers: a shop's gateway sits inside the shop.
  const gatewayLayer = svg.append('g').attr('class', 'gateways')
  for (const gateway of data.gateways) {
    const at = projection([gateway.position[0], gateway.position[1]])
    if (!at) continue
    const style = healthStyle[gateway.health]
    gatewayLayer
      .append('path')
      .attr('class', `gateway gateway-${gateway.health}`)
      .attr('data-gateway-id', gateway.id)
      .attr('transform', `translate(${round(at[0])},${round(at[1])})`)
      .attr('d', style.path)
      .attr('fill', style.fill)
      .attr('stroke', '#ffffff')
      .attr('stroke-width', 1)
      .append('title')
      .text(`${gateway.id}: ${labels.health[gateway.health]}`)
  }

  const streetLabels = svg.append('g').attr('class', 'street-labels')
  const rowEnds: number[] = []
  const rowHeight = data.live ? 32 : 18
  for (const street of streets) {
    const [cx] = centroidOf.get(street.id) ?? [0, 0]
    const half = (street.name.length * fontSize * 0.6) / 2 + 6
    const x = round(clamp(cx, PAD + half, width - PAD - half))
    let row = rowEnds.findIndex((end) => end <= x - half)
    if (row === -1) row = rowEnds.length
    rowEnds[row] = x + half
    const y = round(streetLabelTop + row * rowHeight)
    const text = streetLabels
      .append('text')
      .attr('x', x)
      .attr('y', y)
      .attr('text-anchor', 'middle')
      .attr('font-weight', 600)
      .attr('fill', TEXT_COLOUR)
      .text(street.name)
    const live = data.live?.[street.id]
    if (live !== undefined) {
      text
        .append('tspan')
        .attr('class', 'live-value')
        .attr('data-zone-id', street.id)
        .attr('x', x)
        .attr('dy', '1.2em')
        .attr('font-weight', 700)
        .attr('fill', okabeIto.vermillion)
        .text(count(live))
    }
  }
  const legendTop = streetLabelTop + Math.max(1, rowEnds.length) * rowHeight + 4

  const centre = projection.invert?.([width / 2, (bandTop + bandBottom) / 2])
  const north = centre ? [projection(centre), projection([centre[0], centre[1] + 0.001])] : null
  const northDegrees =
    north?.[0] && north[1]
      ? (Math.atan2(north[1][0] - north[0][0], north[0][1] - north[1][1]) * 180) / Math.PI
      : 0
  drawNorthArrow(svg, width - PAD - 12, bandTop + 4, round(northDegrees), labels.north)

  const legendY = legendTop
  const legend = svg.append('g').attr('class', 'map-legend')
  legend
    .append('text')
    .attr('x', PAD)
    .attr('y', legendY + 6)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text(labels.footfall)
  const stepWidth = clamp((width - 2 * PAD) / 2 / 8, 12, 28)
  const rampY = legendY + 16
  sequentialBlues.slice(1).forEach((colour, i) => {
    legend
      .append('rect')
      .attr('x', round(PAD + i * stepWidth))
      .attr('y', rampY)
      .attr('width', round(stepWidth))
      .attr('height', 10)
      .attr('fill', colour)
  })
  legend
    .append('text')
    .attr('x', PAD)
    .attr('y', rampY + 24)
    .attr('fill', TEXT_COLOUR)
    .text(count(0))
  legend
    .append('text')
    .attr('x', round(PAD + stepWidth * 8))
    .attr('y', rampY + 24)
    .attr('text-anchor', 'end')
    .attr('fill', TEXT_COLOUR)
    .text(count(maxValue))
  let nextY = rampY + 36
  if (data.live) {
    const liveKey = legend
      .append('text')
      .attr('class', 'legend-live')
      .attr('x', PAD)
      .attr('y', nextY)
      .attr('dy', '0.35em')
    liveKey.append('tspan').attr('fill', okabeIto.vermillion).attr('font-weight', 700).text('123')
    liveKey.append('tspan').attr('fill', TEXT_COLOUR).text(` = ${labels.live}`)
    nextY += 20
  }
  legend
    .append('text')
    .attr('x', PAD)
    .attr('y', nextY)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text(labels.gateways)
  const healthHeight = drawLegend(legend, rampItems, {
    x: PAD + textWidth(labels.gateways) + 12,
    y: nextY - 7,
    maxWidth: width - 2 * PAD - textWidth(labels.gateways) - 12,
  })
  const height = Math.ceil(nextY - 7 + healthHeight + 8)
  svg.attr('height', height).attr('viewBox', `0 0 ${width} ${height}`)
  return nodeOf(svg)
}

function labelOf(
  zone: MapZone,
  live: ZoneMapData['live'],
  count: (value: number) => string,
): string {
  const value = live?.[zone.id]
  return value === undefined ? zone.name : `${zone.name} ${count(value)}`
}

function describeMap(
  zones: readonly MapZone[],
  data: ZoneMapData,
  labels: ZoneMapOptions['labels'],
  count: (value: number) => string,
): string {
  const parts = zones.map((z) => {
    const live = data.live?.[z.id]
    return `${z.name} ${count(data.footfall[z.id] ?? 0)}${live === undefined ? '' : ` (${labels.live}: ${count(live)})`}`
  })
  const notOk = data.gateways.filter((g) => g.health !== 'ok')
  const health =
    notOk.length === 0
      ? `${labels.gateways}: ${labels.health.ok}`
      : `${labels.gateways}: ${notOk.map((g) => `${g.id} ${labels.health[g.health]}`).join(', ')}`
  return `${labels.footfall}: ${parts.join('; ')}. ${health}`
}

/**
 * d3-geo wants exterior rings clockwise on the sphere; GeoJSON files often wind them the other way,
 * which d3 reads as "the whole globe but this zone". Reverse such rings.
 */
function rewound(zone: MapZone): Feature {
  const feature: Feature = {
    type: 'Feature',
    id: zone.id,
    geometry: zone.geometry,
    properties: {},
  }
  if (geoArea(feature as GeoPermissibleObjects) <= 2 * Math.PI) return feature
  return {
    ...feature,
    geometry: {
      type: 'Polygon',
      coordinates: zone.geometry.coordinates.map((ring) => [...ring].reverse()),
    },
  }
}

/** The planar rotation (degrees) that lays the street from its first zone to its last left to right. */
function alongStreetAngle(
  collection: { type: 'FeatureCollection'; features: Feature[] },
  ordered: readonly MapZone[],
): number {
  const first = ordered[0]
  const last = ordered[ordered.length - 1]
  if (!first || !last || first === last) return 0
  const flat = geoMercator().fitSize([1000, 1000], collection as GeoPermissibleObjects)
  const centroid = geoPath(flat)
  const featureOf = (id: string) =>
    collection.features.find((f) => f.id === id) as GeoPermissibleObjects
  const [ax, ay] = centroid.centroid(featureOf(first.id))
  const [bx, by] = centroid.centroid(featureOf(last.id))
  const degrees = (Math.atan2(by - ay, bx - ax) * 180) / Math.PI
  return Math.round(degrees * 10) / 10
}

function drawNorthArrow(
  svg: ReturnType<typeof createSvg>,
  x: number,
  y: number,
  northDegrees: number,
  label: string,
): void {
  const g = svg
    .append('g')
    .attr('class', 'north-arrow')
    .attr('transform', `translate(${x},${y + 18})`)
  g.append('title').text(label)
  g.append('circle').attr('r', 16).attr('fill', '#ffffff').attr('stroke', GRID_COLOUR)
  g.append('path')
    .attr('transform', `rotate(${northDegrees})`)
    .attr('d', 'M0,-12L4,4L0,1L-4,4Z')
    .attr('fill', TEXT_COLOUR)
  const rad = (northDegrees * Math.PI) / 180
  g.append('text')
    .attr('x', round(Math.sin(rad) * 24))
    .attr('y', round(-Math.cos(rad) * 24))
    .attr('dy', '0.35em')
    .attr('text-anchor', 'middle')
    .attr('font-size', 10)
    .attr('font-weight', 700)
    .attr('fill', TEXT_COLOUR)
    .text('N')
}

function roundPath(d: string): string {
  return d.replace(/-?\d+\.\d+/g, (n) => String(round(Number(n))))
}
