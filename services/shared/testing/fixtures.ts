import type { DistrictFile } from '../contracts/district.ts'

const square = (lon: number, lat: number) => ({
  type: 'Polygon' as const,
  coordinates: [
    [
      [lon, lat],
      [lon + 0.0001, lat],
      [lon + 0.0001, lat + 0.0001],
      [lon, lat + 0.0001],
      [lon, lat],
    ] as [number, number][],
  ],
})

/** A two-gateway district: a street gateway and a shop's indoor gateway. */
export function tinyDistrict(): DistrictFile {
  return {
    v: 1,
    id: 'test-district',
    name: 'Test district',
    timezone: 'Europe/Rome',
    streetLengthM: 200,
    zones: [
      {
        id: 'street-a',
        name: 'Street A',
        kind: 'street',
        geometry: square(12.24, 45.49),
        streetFromM: 0,
        streetToM: 200,
      },
      {
        id: 'shop-one',
        name: 'Shop One',
        kind: 'shop',
        geometry: square(12.2402, 45.4902),
        streetFromM: 90,
        streetToM: 110,
      },
    ],
    shops: [
      {
        id: 'shop-one',
        name: 'Shop One',
        category: 'shoes',
        zoneId: 'shop-one',
        streetOffsetM: 100,
      },
    ],
    gateways: [
      {
        id: 'gw-street-a',
        zoneId: 'street-a',
        placement: 'street',
        radios: ['wifi', 'ble'],
        position: [12.2401, 45.4901],
        streetOffsetM: 100,
        rssiFloor: -90,
        visitor: { minRssi: -67, minDwellS: 60 },
        calibrationFactor: 1,
      },
      {
        id: 'gw-shop-one',
        zoneId: 'shop-one',
        shopId: 'shop-one',
        placement: 'indoor',
        radios: ['wifi', 'ble'],
        position: [12.2402, 45.4902],
        streetOffsetM: 100,
        rssiFloor: -90,
        visitor: { minRssi: -67, minDwellS: 60 },
        calibrationFactor: 1,
      },
    ],
  }
}

/** A native v1 batch (as the wire carries it). */
export function sightingsBatch(
  gatewayId: string,
  seq: number,
  sentAtMs: number,
  sightings: { tMs: number; mac: string; rssi: number; radio?: 'wifi' | 'ble' }[],
  bootId = 'b00710d1',
): string {
  return JSON.stringify({
    v: 1,
    gatewayId,
    bootId,
    seq,
    sentAt: new Date(sentAtMs).toISOString(),
    sightings: sightings.map((s) => ({
      t: new Date(s.tMs).toISOString(),
      mac: s.mac,
      rssi: s.rssi,
      radio: s.radio ?? 'wifi',
    })),
  })
}
