import type { DeviceSession } from '../../services/shared/people/sessions.ts'
import type { TruthDay } from './people-eval.ts'

const M = 60_000

/**
 * A synthetic day for the evaluation's tests: `people[k]` people in the k-th quarter (repeating),
 * each carrying two stable devices heard every second of each minute (device-time: the minute
 * exactly); the naive estimator sees three addresses per person.
 */
export function twoDevicesPerPersonDay(
  name: string,
  startMs: number,
  minutes: number,
  people: number[],
): TruthDay {
  const sessions: DeviceSession[] = []
  const truth = new Map<number, number>()
  const addressesPerMinute = new Map<number, Set<number>>()
  for (let m = 0; m < minutes; m++) {
    const t = startMs + m * M
    const p = people[Math.floor(m / 15) % people.length] ?? 0
    truth.set(t, p)
    for (let i = 0; i < 2 * p; i++)
      sessions.push({
        gatewayId: 'gw',
        zoneId: 'z',
        pseudonym: `${name}-${m}-${i}`,
        firstMs: t,
        lastMs: t + 59_000,
        samples: 60,
        peakRssi: -60,
        radio: 'wifi',
        randomised: false,
      })
    addressesPerMinute.set(t, new Set(Array.from({ length: 3 * p }, (_, i) => i)))
  }
  return { day: name, zoneId: 'z', sessions, truth, addressesPerMinute }
}
