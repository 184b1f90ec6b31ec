/**
 * A device session as the database holds it: one pseudonymous radio's continuous presence at one
 * gateway (a row of `transits`, or of `open_transits` while it may still grow). The estimator needs
 * nothing else; in particular no raw MAC and no per-sighting data.
 */
export type DeviceSession = {
  gatewayId: string
  zoneId: string
  /** The day's pseudonym (null once the privacy job nulled it: such sessions are never linked). */
  pseudonym: string | null
  firstMs: number
  lastMs: number
  samples: number
  peakRssi: number
  radio: 'wifi' | 'ble'
  randomised: boolean
}
