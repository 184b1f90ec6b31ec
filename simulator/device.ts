import type { Rng } from './rng.ts'

/**
 * How a device hides its identity. `none`: one stable, globally-administered Wi-Fi MAC (legacy
 * phones, shop PCs). `wifi-per-scan`: a fresh locally-administered MAC for every probe burst (802.11
 * sequence number and information elements stay, as on real phones). `ble-rotation`: BLE
 * advertisements whose locally-administered address rotates every `bleRotationS` seconds.
 * `ble-static`: BLE advertisements from one stable public address (speakers, printers, old wearables).
 */
export type Randomisation = 'none' | 'ble-rotation' | 'wifi-per-scan' | 'ble-static'

export interface DeviceOptions {
  randomisation: Randomisation
  /** Seconds between probe bursts (Wi-Fi) or reported advertisements (BLE). */
  probeIntervalS: number
  /** Each emission moves by a uniform offset in [-jitter, +jitter] seconds; must be below half the interval. */
  probeJitterS: number
  bleRotationS: { min: number; max: number }
}

export interface Emission {
  tMs: number
  /** `aa:bb:cc:dd:ee:ff`, lowercase. */
  mac: string
  radio: 'wifi' | 'ble'
  seqNum?: number
  ie?: string
}

export interface Device {
  readonly id: string
  readonly radio: 'wifi' | 'ble'
  /** Stream for the RSSI noise of this device's emissions, so noise does not depend on window sizes. */
  readonly noise: Rng
  /** Emissions not yet returned with a time before `untilMs`, in time order. Calls must move forward. */
  emitUntil(untilMs: number): Emission[]
}

const IE_TEMPLATES = [
  '0,1,50,3,45,127,255,221',
  '0,1,50,45,127,191,221',
  '0,1,3,45,50,127,221,221',
  '0,1,45,127,255,221,221,221',
] as const

/** A phone active on the street in [activeFromMs, activeToMs]; its first emission is at a random phase. */
export function createDevice(
  id: string,
  rng: Rng,
  activeFromMs: number,
  activeToMs: number,
  options: DeviceOptions,
): Device {
  const intervalMs = options.probeIntervalS * 1000
  const jitterMs = options.probeJitterS * 1000
  const radio =
    options.randomisation === 'ble-rotation' || options.randomisation === 'ble-static'
      ? 'ble'
      : 'wifi'
  const noise = rng.fork('noise')
  const stableMac = randomGlobalMac(rng)
  const ie = rng.pick(IE_TEMPLATES)
  let seqNum = rng.int(0, 4095)
  let nominalMs = activeFromMs + rng.uniform(0, intervalMs)
  let nextMs = emissionTime(nominalMs)
  let rotationMac = randomLocalMac(rng)
  let rotateAtMs = activeFromMs + rotationPeriodMs()

  function emissionTime(nominal: number): number {
    return Math.round(jitterMs > 0 ? nominal + rng.uniform(-jitterMs, jitterMs) : nominal)
  }

  function rotationPeriodMs(): number {
    return rng.uniform(options.bleRotationS.min, options.bleRotationS.max) * 1000
  }

  function emit(tMs: number): Emission {
    switch (options.randomisation) {
      case 'none':
        seqNum = (seqNum + 1) % 4096
        return { tMs, mac: stableMac, radio, seqNum }
      case 'wifi-per-scan':
        seqNum = (seqNum + 1) % 4096
        return { tMs, mac: randomLocalMac(rng), radio, seqNum, ie }
      case 'ble-static':
        return { tMs, mac: stableMac, radio }
      case 'ble-rotation':
        while (tMs >= rotateAtMs) {
          rotationMac = randomLocalMac(rng)
          rotateAtMs += rotationPeriodMs()
        }
        return { tMs, mac: rotationMac, radio }
    }
  }

  return {
    id,
    radio,
    noise,
    emitUntil(untilMs) {
      const out: Emission[] = []
      while (nextMs < untilMs && nextMs <= activeToMs) {
        if (nextMs >= activeFromMs) out.push(emit(nextMs))
        nominalMs += intervalMs
        nextMs = emissionTime(nominalMs)
      }
      return out
    },
  }
}

/** A vendor-style MAC: universally administered, unicast (second hex digit 0, 4, 8 or c). */
export function randomGlobalMac(rng: Rng): string {
  return formatMac(randomBytes(rng, (first) => first & 0xfc))
}

/** A randomised MAC: locally administered, unicast (second hex digit 2, 6, a or e). */
export function randomLocalMac(rng: Rng): string {
  return formatMac(randomBytes(rng, (first) => (first & 0xfc) | 0x02))
}

export function formatMac(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')
}

function randomBytes(rng: Rng, fixFirst: (first: number) => number): number[] {
  const bytes = Array.from({ length: 6 }, () => rng.int(0, 255))
  bytes[0] = fixFirst(bytes[0] ?? 0)
  return bytes
}
