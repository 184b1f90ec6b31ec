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
  type GeoPath,
  type GeoPermissibleObjects,
  type GeoProjection,
} from 'd3'
import { createCountFormat } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  clamp,
  okabeIto,
  round,
  sequentialColour,
  textWidth,
  truncate,
  type StateLabels,
  type Svg,
} from './chart-kit.ts'
import {
  createFrame,
  drawChart,
  drawLegend,
  drawRamp,
  type Frame,
  type LegendItem,
} from './frame.ts'

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

/** Where everything of the map goes: the projection and the bands above and below the street. */
interface MapLayout {
  zones: MapZone[]
  streets: MapZone[]
  shops: MapZone[]
  features: Feature[]
  fitted: GeoPermissibleObjects
  projection: GeoProjection
  path: GeoPath
  centroidOf: ReadonlyMap<string, [number, number]>
  fontSize: number
  shopLabelMax: number
  labelAngle: number
  /** The top and bottom of the band the zones are drawn in. */
  bandTop: number
  bandBottom: number
  count: (value: number) => string
  fillOf: (id: string) => string
  maxValue: number
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
  return drawChart(
    container,
    data,
    {
      className: 'zone-map',
      width,
      loadingHeight: 260,
      labels: opts.labels,
      isEmpty: (d) => d.zones.length === 0,
    },
    (d) => drawMap(container, d, width, opts),
  )
}

function drawMap(
  container: Element,
  data: ZoneMapData,
  width: number,
  opts: ZoneMapOptions,
): SVGSVGElement {
  const { labels } = opts
  const layout = layOut(data, width, createCountFormat(opts.locale))
  const frame = createFrame(container, {
    className: 'zone-map',
    width,
    height: 10,
    label: describeMap(layout.zones, data, labels, layout.count),
  })
  frame.svg.attr('font-size', layout.fontSize)
  drawZones(frame, layout, data)
  drawShops(frame, layout, data)
  drawGateways(frame, layout, data, labels)
  const legendTop = drawStreetLabels(frame, layout, data)
  const centre = layout.projection.invert?.([width / 2, (layout.bandTop + layout.bandBottom) / 2])
  const north = centre
    ? [layout.projection(centre), layout.projection([centre[0], centre[1] + 0.001])]
    : null
  const northDegrees =
    north?.[0] && north[1]
      ? (Math.atan2(north[1][0] - north[0][0], north[0][1] - north[1][1]) * 180) / Math.PI
      : 0
  drawNorthArrow(frame.svg, width - PAD - 12, layout.bandTop + 4, round(northDegrees), labels.north)
  return frame.size(drawMapLegend(frame, layout, data, labels, legendTop)).node()
}

function layOut(data: ZoneMapData, width: number, count: (value: number) => string): MapLayout {
  const zones = [...data.zones].sort((a, b) => a.streetFromM - b.streetFromM)
  const features: Feature[] = zones.map((zone) => rewound(zone))
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
  const angle = alongStreetAngle(
    { type: 'FeatureCollection', features },
    streets.length > 0 ? streets : zones,
  )
  const fontSize = width < 520 ? 11 : 12
  const longestShop = max(shops, (s) => labelOf(s, data.live, count).length) ?? 0
  const shopLabelMax = Math.min(longestShop, width < 520 ? 16 : 28)
  const labelLength = shopLabelMax * fontSize * 0.55
  const fit = (run: number) => {
    const projection = geoMercator().angle(angle)
    projection.fitWidth(width - 2 * PAD - Math.min(run, width * 0.25), fitted)
    return projection
  }
  const labelAngle = shopLabelAngle(fit, features, shops, labelLength, fontSize)
  const rad = (labelAngle * Math.PI) / 180
  const projection = fit(Math.ceil(labelLength * Math.cos(rad)))
  const path = geoPath(projection)
  const [[, y0], [, y1]] = path.bounds(fitted)
  const bandTop = Math.ceil(labelLength * Math.sin(rad)) + 18 + 8
  const [tx, ty] = projection.translate()
  projection.translate([tx + PAD, ty - y0 + bandTop])
  const maxValue = max(zones, (z) => data.footfall[z.id] ?? 0) ?? 0
  return {
    zones,
    streets,
    shops,
    features,
    fitted,
    projection,
    path,
    centroidOf: new Map(features.map((f) => [f.id, path.centroid(f as GeoPermissibleObjects)])),
    fontSize,
    shopLabelMax,
    labelAngle,
    bandTop,
    bandBottom: bandTop + (y1 - y0),
    count,
    fillOf: (id) => sequentialColour(data.footfall[id] ?? 0, maxValue),
    maxValue,
  }
}

/** Shop labels lean just enough to clear each other: their perpendicular spacing is dx·sin(angle). */
function shopLabelAngle(
  fit: (run: number) => GeoProjection,
  features: readonly Feature[],
  shops: readonly MapZone[],
  labelLength: number,
  fontSize: number,
): number {
  const draft = geoPath(fit(labelLength * Math.cos((40 * Math.PI) / 180)))
  const shopXs = shops
    .map(
      (shop) => draft.centroid(features.find((f) => f.id === shop.id) as GeoPermissibleObjects)[0],
    )
    .sort((a, b) => a - b)
  const minGap = Math.min(Infinity, ...shopXs.slice(1).map((x, i) => x - (shopXs[i] ?? x)))
  const needed = (fontSize + 3) / Math.max(1, minGap)
  return needed >= 1 ? 90 : clamp((Math.asin(needed) * 180) / Math.PI, 35, 90)
}

/** Street and square zones as shapes filled by footfall. */
function drawZones(frame: Frame, layout: MapLayout, data: ZoneMapData): void {
  const { zones, path, count } = layout
  frame.svg
    .append('g')
    .attr('class', 'zones')
    .selectAll('path')
    .data(layout.features.filter((f) => layout.streets.some((s) => s.id === f.id)))
    .join('path')
    .attr('class', 'zone zone-street')
    .attr('data-zone-id', (f) => f.id)
    .attr('d', (f) => roundPath(path(f as GeoPermissibleObjects) ?? ''))
    .attr('fill', (f) => layout.fillOf(f.id))
    .attr('stroke', MUTED_COLOUR)
    .attr('stroke-width', 0.75)
    .append('title')
    .text((f) => {
      const zone = zones.find((z) => z.id === f.id)
      return zone ? `${zone.name}: ${count(data.footfall[zone.id] ?? 0)}` : f.id
    })
}

/** Shops as markers, their names leaning above the street with the live count after them. */
function drawShops(frame: Frame, layout: MapLayout, data: ZoneMapData): void {
  const { bandTop, count } = layout
  const shopLayer = frame.svg.append('g').attr('class', 'shops')
  for (const shop of layout.shops) {
    const [cx, cy] = layout.centroidOf.get(shop.id) ?? [0, 0]
    const g = shopLayer
      .append('g')
      .attr('class', 'zone zone-shop')
      .attr('data-zone-id', shop.id)
      .attr('transform', `translate(${round(cx)},${round(cy)})`)
    g.append('title').text(`${shop.name}: ${count(data.footfall[shop.id] ?? 0)}`)
    g.append('circle')
      .attr('r', SHOP_MARKER_R)
      .attr('fill', layout.fillOf(shop.id))
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
      .attr(
        'transform',
        `translate(2,${round(bandTop - cy - 8)}) rotate(${-round(layout.labelAngle)})`,
      )
      .attr('fill', TEXT_COLOUR)
      .text(truncate(shop.name, layout.shopLabelMax))
    const live = data.live?.[shop.id]
    if (live === undefined) continue
    label
      .append('tspan')
      .attr('class', 'live-value')
      .attr('data-zone-id', shop.id)
      .attr('fill', okabeIto.vermillion)
      .attr('font-weight', 700)
      .text(` ${count(live)}`)
  }
}

/** Drawn over the shop markers: a shop's gateway sits inside the shop. */
function drawGateways(
  frame: Frame,
  layout: MapLayout,
  data: ZoneMapData,
  labels: ZoneMapOptions['labels'],
): void {
  const gatewayLayer = frame.svg.append('g').attr('class', 'gateways')
  for (const gateway of data.gateways) {
    const at = layout.projection([gateway.position[0], gateway.position[1]])
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
}

/** Street and square names under the street, in as many rows as they need; returns the y below. */
function drawStreetLabels(frame: Frame, layout: MapLayout, data: ZoneMapData): number {
  const { fontSize, count } = layout
  const streetLabelTop = layout.bandBottom + 24
  const streetLabels = frame.svg.append('g').attr('class', 'street-labels')
  const rowEnds: number[] = []
  const rowHeight = data.live ? 32 : 18
  for (const street of layout.streets) {
    const [cx] = layout.centroidOf.get(street.id) ?? [0, 0]
    const half = (street.name.length * fontSize * 0.6) / 2 + 6
    const x = round(clamp(cx, PAD + half, frame.width - PAD - half))
    let row = rowEnds.findIndex((end) => end <= x - half)
    if (row === -1) row = rowEnds.length
    rowEnds[row] = x + half
    const text = streetLabels
      .append('text')
      .attr('x', x)
      .attr('y', round(streetLabelTop + row * rowHeight))
      .attr('text-anchor', 'middle')
      .attr('font-weight', 600)
      .attr('fill', TEXT_COLOUR)
      .text(street.name)
    const live = data.live?.[street.id]
    if (live === undefined) continue
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
  return streetLabelTop + Math.max(1, rowEnds.length) * rowHeight + 4
}

/** The footfall ramp, the live key and the gateways' health marks; returns the map's height. */
function drawMapLegend(
  frame: Frame,
  layout: MapLayout,
  data: ZoneMapData,
  labels: ZoneMapOptions['labels'],
  legendY: number,
): number {
  const legend = frame.svg.append('g').attr('class', 'map-legend')
  legend
    .append('text')
    .attr('x', PAD)
    .attr('y', legendY + 6)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text(labels.footfall)
  const rampY = legendY + 16
  drawRamp(legend, {
    x: PAD,
    y: rampY,
    step: clamp((frame.width - 2 * PAD) / 2 / 8, 12, 28),
    low: layout.count(0),
    high: layout.count(layout.maxValue),
  })
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
  const health: LegendItem[] = (['ok', 'silent', 'offline', 'unknown', 'inactive'] as const)
    .filter((h) => h === 'ok' || data.gateways.some((g) => g.health === h))
    .map((h) => ({
      key: `health-${h}`,
      label: labels.health[h],
      swatch: { kind: 'symbol', path: healthStyle[h].path, fill: healthStyle[h].fill },
    }))
  const healthHeight = drawLegend(legend, health, {
    x: PAD + textWidth(labels.gateways) + 12,
    y: nextY - 7,
    maxWidth: frame.width - 2 * PAD - textWidth(labels.gateways) - 12,
  })
  return Math.ceil(nextY - 7 + healthHeight + 8)
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

function drawNorthArrow(svg: Svg, x: number, y: number, northDegrees: number, label: string): void {
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
