/** Log-distance path loss for a phone heard by a gateway; all powers in dBm, distances in metres. */
export interface RadioParams {
  /** Mean RSSI one metre from the phone. */
  rssiAt1mDbm: number
  pathLossExponent: number
  /** Extra loss when exactly one of phone and gateway is inside a shop (a shopfront between them). */
  wallLossDb: number
  /** Standard deviation of Gaussian noise added to every reported RSSI. */
  noiseSigmaDb: number
  /** How far behind the shopfront line an indoor gateway stands. */
  indoorGatewayDepthM: number
}

/**
 * Chosen so that on mestre.json a passer-by peaks at -76 dBm at a shop's indoor gateway (8 m, one
 * wall), a visitor 1–3 m from it reads -42…-57 dBm, an indoor gateway hears a phone outside up to 29 m
 * away, and a street gateway hears 46 m along the street, the interior of a shop 20 m away but not a door
 * 50 m away.
 */
export const DEFAULT_RADIO: Readonly<RadioParams> = Object.freeze({
  rssiAt1mDbm: -42.5,
  pathLossExponent: 3,
  wallLossDb: 6,
  noiseSigmaDb: 0,
  indoorGatewayDepthM: 6,
})

export function meanRssi(distanceM: number, walled: boolean, radio: RadioParams): number {
  const pathLoss = 10 * radio.pathLossExponent * Math.log10(Math.max(distanceM, 1))
  return radio.rssiAt1mDbm - pathLoss - (walled ? radio.wallLossDb : 0)
}

/** What a gateway reports: an integer dBm in the protocol's [-127, 0]. */
export function toReportedRssi(rssi: number): number {
  return Math.min(0, Math.max(-127, Math.round(rssi)))
}

/**
 * Largest distance at which the noise-free reported RSSI still reaches `rssiFloor`; -1 when the
 * phone is never heard.
 */
export function hearingRangeM(rssiFloor: number, walled: boolean, radio: RadioParams): number {
  // Math.round rounds halves up, so a reported RSSI >= floor means a mean RSSI >= floor - 0.5.
  const budgetDb = radio.rssiAt1mDbm - (walled ? radio.wallLossDb : 0) - (rssiFloor - 0.5)
  if (budgetDb < 0) return -1
  return 10 ** (budgetDb / (10 * radio.pathLossExponent))
}
