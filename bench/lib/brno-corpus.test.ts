import { describe, expect, it } from 'vitest'
import {
  apply,
  byBand,
  classifyCsv,
  isoWeekOf,
  leaveOneGroupOut,
  measureCorpus,
  seasonOf,
  summariseRows,
  train,
  type CorpusDay,
} from './brno-corpus.ts'
import { leaveOneDayOut } from './people-eval.ts'
import { twoDevicesPerPersonDay } from './people-eval-fixtures.ts'

const M = 60_000

/** Two hours where each person carries two stable devices heard all along; the naive sees 3 each. */
function day(position: string, date: string, startMs: number, people: number[]): CorpusDay {
  return {
    ...twoDevicesPerPersonDay(`${position}/${date}`, startMs, 120, people),
    position,
    date,
    sightings: 0,
    denied: 0,
  }
}

describe(classifyCsv.name, () => {
  it('reads both namings and leaves other files out', () => {
    expect(classifyCsv(['position_2'], 'sc6-61_2024-03-05_ver-99.csv')).toEqual({
      position: 'position_2',
      day: '2024-03-05',
    })
    expect(classifyCsv(['_CSV', 'position_1', 'old'], 'sc6-61_2023-09-17_ver-99.csv')).toEqual({
      position: 'position_1',
      day: '2023-09-17',
    })
    expect(classifyCsv([], 'position_1_2022-10-18.csv')).toEqual({
      position: 'position_1',
      day: '2022-10-18',
    })
    expect(classifyCsv([], 'sc6-61_2023-09-17_ver-99.csv')).toBeNull()
    expect(classifyCsv(['position_1'], 'README.md')).toBeNull()
    expect(classifyCsv(['position_1'], 'notes.csv')).toBeNull()
  })
})

describe(seasonOf.name, () => {
  it('puts December in the next winter', () => {
    expect(seasonOf('2022-12-05')).toBe('2023 winter (Dec–Feb)')
    expect(seasonOf('2023-02-28')).toBe('2023 winter (Dec–Feb)')
    expect(seasonOf('2023-05-31')).toBe('2023 spring (Mar–May)')
    expect(seasonOf('2023-09-01')).toBe('2023 autumn (Sep–Nov)')
  })
})

describe(isoWeekOf.name, () => {
  it('numbers ISO weeks (a week belongs to the year of its Thursday)', () => {
    expect(isoWeekOf('2023-09-17')).toBe('2023-W37')
    expect(isoWeekOf('2023-09-18')).toBe('2023-W38')
    expect(isoWeekOf('2021-01-03')).toBe('2020-W53')
    expect(isoWeekOf('2024-12-30')).toBe('2025-W01')
  })
})

describe('corpus evaluation', () => {
  const days = [
    day('position_1', '2022-10-18', 0, [2, 5, 9, 4]),
    day('position_1', '2022-10-19', 24 * 60 * M, [3, 6, 10, 1]),
    day('position_1', '2022-10-25', 48 * 60 * M, [7, 2, 4, 12]),
    day('position_2', '2024-03-05', 96 * 60 * M, [0, 0, 8, 3]),
  ]

  it('gives the figures of the 3-day leave-one-day-out for the same days', () => {
    const corpus = measureCorpus(days.slice(0, 3), 15)
    const mine = summariseRows(leaveOneGroupOut(corpus, corpus.days).rows)
    const theirs = leaveOneDayOut(days.slice(0, 3), 15)
    expect(mine.estimator.maePeople).toBeCloseTo(theirs.estimator.maePeople, 9)
    expect(mine.naive.maePeople).toBeCloseTo(theirs.naive.maePeople, 9)
    expect(mine.estimator.windows).toBe(theirs.estimator.windows)
  })

  it('applies a calibration to another position, with empty windows and bands', () => {
    const corpus = measureCorpus(days, 15)
    const p1 = corpus.days.filter((d) => d.day.position === 'position_1')
    const p2 = corpus.days.filter((d) => d.day.position === 'position_2')
    const t = train(corpus, p1)
    expect(t.model?.present?.coefficients.stable).toBeCloseTo(0.5)
    expect(t.naiveFactor).toBeCloseTo(1 / 3)
    const rows = apply(t, p2)
    expect(rows).toHaveLength(8)
    const s = summariseRows(rows)
    expect(s.estimator.emptyWindows).toBe(4)
    expect(s.estimator.emptyMeanPeople).toBeCloseTo(0)
    expect(s.estimator.maePeople).toBeCloseTo(0)
    const bands = byBand(rows)
    expect(bands.map((b) => b.estimator.windows)).toEqual([4, 0, 4, 0, 0])
  })
})
