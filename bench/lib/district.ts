import { DEFAULT_TIME_ZONE, type DistrictFile } from '../../services/shared/contracts/district.ts'

const SHOP_CATEGORIES = [
  'shoes',
  'optician',
  'grocer',
  'bistro',
  'pastry',
  'clothing',
  'books',
] as const

function square(lon: number, lat: number) {
  const d = 0.0001
  return {
    type: 'Polygon' as const,
    coordinates: [
      [
        [lon, lat],
        [lon + d, lat],
        [lon + d, lat + d],
        [lon, lat + d],
        [lon, lat],
      ] as [number, number][],
    ],
  }
}

export type BenchDistrictOptions = {
  /** Zones, one gateway each. */
  zones: number
  /** Every `shopEvery`-th zone is a shop with an indoor gateway (0: none). Default 4. */
  shopEvery?: number
  /** Extra street zone `probe` with gateway `gw-probe` (latency probes). */
  probe?: boolean
  id?: string
}

export const zoneIdOf = (i: number) => `z-${String(i + 1).padStart(3, '0')}`
export const gatewayIdOf = (i: number) => `gw-bench-${String(i + 1).padStart(3, '0')}`
export const PROBE_GATEWAY = 'gw-probe'
export const PROBE_ZONE = 'probe'

/**
 * A synthetic district for the benchmarks: `zones` zones 50 m apart along one street, one gateway
 * per zone; every `shopEvery`-th zone is a shop (indoor gateway, visitor thresholds), the rest are
 * street segments (passers-by only).
 */
export function buildBenchDistrict(o: BenchDistrictOptions): DistrictFile {
  const shopEvery = o.shopEvery ?? 4
  const isShop = (i: number) => shopEvery > 0 && i % shopEvery === shopEvery - 1
  const zones: DistrictFile['zones'] = []
  const shops: DistrictFile['shops'] = []
  const gateways: DistrictFile['gateways'] = []
  for (let i = 0; i < o.zones; i++) {
    const id = zoneIdOf(i)
    const lon = 12.24 + i * 0.0005
    const lat = 45.49
    const shop = isShop(i)
    zones.push({
      id,
      name: `${shop ? 'Shop' : 'Street'} ${i + 1}`,
      kind: shop ? 'shop' : 'street',
      geometry: square(lon, lat),
      streetFromM: i * 50,
      streetToM: i * 50 + 50,
    })
    if (shop)
      shops.push({
        id,
        name: `Shop ${i + 1}`,
        category: SHOP_CATEGORIES[i % SHOP_CATEGORIES.length] ?? 'other',
        zoneId: id,
        streetOffsetM: i * 50 + 25,
      })
    gateways.push({
      id: gatewayIdOf(i),
      zoneId: id,
      ...(shop ? { shopId: id } : {}),
      placement: shop ? 'indoor' : 'street',
      radios: ['wifi', 'ble'],
      position: [lon + 0.00005, lat + 0.00005],
      streetOffsetM: i * 50 + 25,
      rssiFloor: -92,
      visitor: { minRssi: -67, minDwellS: 60 },
      calibrationFactor: 1,
    })
  }
  if (o.probe) {
    zones.push({
      id: PROBE_ZONE,
      name: 'Latency probe',
      kind: 'street',
      geometry: square(12.2, 45.4),
      streetFromM: o.zones * 50,
      streetToM: o.zones * 50 + 50,
    })
    gateways.push({
      id: PROBE_GATEWAY,
      zoneId: PROBE_ZONE,
      placement: 'street',
      radios: ['wifi', 'ble'],
      position: [12.20005, 45.40005],
      streetOffsetM: o.zones * 50 + 25,
      rssiFloor: -92,
      visitor: { minRssi: -67, minDwellS: 60 },
      calibrationFactor: 1,
    })
  }
  return {
    v: 1,
    id: o.id ?? 'bench-district',
    name: 'Benchmark district',
    timezone: DEFAULT_TIME_ZONE,
    streetLengthM: Math.max(1, (o.zones + (o.probe ? 1 : 0)) * 50),
    zones,
    shops,
    gateways,
  }
}
