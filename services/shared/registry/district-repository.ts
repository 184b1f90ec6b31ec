import { readFile } from 'node:fs/promises'
import { sql } from 'kysely'
import type { Db } from '../db/create-db.ts'
import { parseDistrictFile, type DistrictFile } from '../contracts/district.ts'
import { AppError } from '../errors.ts'
import { ensureDailyAggregate, refreshDailyAggregate } from '../db/daily-aggregate.ts'
import { storedSourceKey, storedSourceOf } from './gateway-source-key.ts'

/**
 * Reads and validates a district file; errors name the file and every bad field. A file that names
 * no time zone gets `defaultTimeZone` (MIGLIO_TZ).
 */
export async function readDistrictFile(
  path: string,
  defaultTimeZone: string,
): Promise<DistrictFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new AppError(
      'district_invalid',
      `cannot read district file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        cause: err,
      },
    )
  }
  const parsed = parseDistrictFile(text, path, defaultTimeZone)
  if (!parsed.ok) throw new AppError('district_invalid', parsed.problem)
  return parsed.district
}

export type DistrictLoadReport = {
  zones: number
  shops: number
  gateways: number
  thresholdVersionsAdded: number
  calibrationVersionsAdded: number
  deactivated: number
  /**
   * footfall_1d was refilled from footfall_1h: (re)created for the district's time zone, or its
   * refill after an earlier (re)creation had not finished.
   */
  dailyAggregateRebuilt: boolean
}

/**
 * Upserts a district in one transaction. Gateways missing from the file are deactivated (their
 * history stays); a gateway whose visitor thresholds changed gets a new threshold version, so
 * transits already written keep the version they were classified with. Each gateway's format,
 * source and source key are stored as `storedSourceOf` gives them (a Meraki AP's MAC as a digest);
 * the key is unique among active gateways, so a source taken by a gateway of another district is
 * refused.
 *
 * The district's time zone drives the database's local days: one database serves one zone (a
 * district in another zone than the others is refused), and footfall_1d is (re)created for it in
 * the same transaction (`miglio_ensure_daily_aggregate`), then refilled from footfall_1h after the
 * commit (a refresh cannot run in a transaction). The jobs read the zone from `districts`.
 */
export async function loadDistrict(db: Db, d: DistrictFile): Promise<DistrictLoadReport> {
  return retryCatalogRace(() => loadDistrictOnce(db, d))
}

/**
 * Runs a transaction that drops or recreates footfall_1d again when it loses a race with
 * TimescaleDB's job scheduler (`isCatalogRace`), up to 5 times with a growing pause.
 */
export async function retryCatalogRace<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (err) {
      if (attempt >= 5 || !isCatalogRace(err)) throw err
      await new Promise((r) => setTimeout(r, 200 * attempt))
    }
  }
}

/**
 * TimescaleDB's job scheduler updates a policy job's catalog row while it runs; on a fresh server
 * database the first district load drops the UTC footfall_1d (and its refresh policy, which the
 * scheduler may be running right then) to make it in the district's zone, and PostgreSQL answers
 * "tuple concurrently deleted/updated" (XX000). The load is one transaction: it is tried again.
 */
export function isCatalogRace(err: unknown): boolean {
  return /tuple concurrently (deleted|updated)/i.test(String((err as Error | undefined)?.message))
}

async function loadDistrictOnce(db: Db, d: DistrictFile): Promise<DistrictLoadReport> {
  const report = await db.transaction().execute(async (trx) => {
    const other = await trx
      .selectFrom('districts')
      .select(['id', 'timezone'])
      .where('id', '<>', d.id)
      .where('timezone', '<>', d.timezone)
      .executeTakeFirst()
    if (other)
      throw new AppError(
        'district_invalid',
        `district ${d.id} is in time zone ${d.timezone} but district ${other.id} of this database is in ${other.timezone}: one database keeps the local days of one time zone`,
      )
    await trx
      .insertInto('districts')
      .values({
        id: d.id,
        name: d.name,
        timezone: d.timezone,
        street_length_m: d.streetLengthM,
        holidays: JSON.stringify(d.holidays ?? []),
        alert_rules: JSON.stringify(d.alerts ?? {}),
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          holidays: JSON.stringify(d.holidays ?? []),
          alert_rules: JSON.stringify(d.alerts ?? {}),
          name: d.name,
          timezone: d.timezone,
          street_length_m: d.streetLengthM,
          loaded_at: sql`now()`,
        }),
      )
      .execute()
    const dailyAggregateRebuilt = await ensureDailyAggregate(trx, d.timezone).catch(
      (err: unknown) => {
        throw /time zone .* not recognized/i.test(String(err))
          ? new AppError(
              'district_invalid',
              `district ${d.id}: time zone ${d.timezone} is not known to the database`,
              { cause: err },
            )
          : err
      },
    )
    for (const z of d.zones) {
      const row = {
        id: z.id,
        district_id: d.id,
        name: z.name,
        kind: z.kind,
        geometry: JSON.stringify(z.geometry),
        street_from_m: z.streetFromM,
        street_to_m: z.streetToM,
      }
      await trx
        .insertInto('zones')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet(row))
        .execute()
    }
    for (const s of d.shops) {
      const row = {
        id: s.id,
        district_id: d.id,
        zone_id: s.zoneId,
        name: s.name,
        category: s.category,
        street_offset_m: s.streetOffsetM,
      }
      await trx
        .insertInto('shops')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet(row))
        .execute()
    }
    // Gateways no longer listed first: a source moved to a new gateway id must be free to take.
    const listed = d.gateways.map((g) => g.id)
    const deactivated = await trx
      .updateTable('gateways')
      .set({ active: false })
      .where('district_id', '=', d.id)
      .where('id', 'not in', listed)
      .where('active', '=', true)
      .executeTakeFirst()
    let thresholdVersionsAdded = 0
    let calibrationVersionsAdded = 0
    for (const g of d.gateways) {
      const source = storedSourceOf(g.source)
      const row = {
        id: g.id,
        district_id: d.id,
        zone_id: g.zoneId,
        shop_id: g.shopId ?? null,
        placement: g.placement,
        radios: g.radios,
        lon: g.position[0],
        lat: g.position[1],
        street_offset_m: g.streetOffsetM,
        rssi_floor: g.rssiFloor,
        calibration_factor: g.calibrationFactor,
        active: true,
        format: source.format,
        source: JSON.stringify(source),
        source_key: storedSourceKey(source),
      }
      await trx
        .insertInto('gateways')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet(row))
        .execute()
        .catch((err: unknown) => {
          throw /gateways_source_key/.test(String(err))
            ? new AppError(
                'district_invalid',
                `district ${d.id}: gateway ${g.id} declares the ${source.format} source of an active gateway of another district`,
                { cause: err },
              )
            : err
        })
      const current = await trx
        .selectFrom('gateway_thresholds')
        .select(['version', 'min_rssi', 'min_dwell_s'])
        .where('gateway_id', '=', g.id)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst()
      if (
        !current ||
        current.min_rssi !== g.visitor.minRssi ||
        current.min_dwell_s !== g.visitor.minDwellS
      ) {
        await trx
          .insertInto('gateway_thresholds')
          .values({
            gateway_id: g.id,
            version: (current?.version ?? 0) + 1,
            min_rssi: g.visitor.minRssi,
            min_dwell_s: g.visitor.minDwellS,
          })
          .execute()
        thresholdVersionsAdded++
      }
    }
    for (const g of d.gateways) {
      const current = await trx
        .selectFrom('gateway_calibrations')
        .select(['version', 'factor'])
        .where('gateway_id', '=', g.id)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst()
      if (!current || current.factor !== g.calibrationFactor) {
        await trx
          .insertInto('gateway_calibrations')
          .values({
            gateway_id: g.id,
            version: (current?.version ?? 0) + 1,
            factor: g.calibrationFactor,
          })
          .execute()
        calibrationVersionsAdded++
      }
    }
    return {
      zones: d.zones.length,
      shops: d.shops.length,
      gateways: d.gateways.length,
      thresholdVersionsAdded,
      calibrationVersionsAdded,
      deactivated: Number(deactivated.numUpdatedRows),
      dailyAggregateRebuilt,
    }
  })
  if (report.dailyAggregateRebuilt) await refreshDailyAggregate(db)
  return report
}

/**
 * The district's time zone as loaded (`districts.timezone`): the one ingest's daily keys, the API's
 * local days and the simulator follow. With several districts in one database, the one loaded last
 * (as `GET /api/v1/district` answers); null when none is loaded yet.
 */
export async function findDistrictTimeZone(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom('districts')
    .select('timezone')
    .orderBy(sql`loaded_at`, 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.timezone ?? null
}

export async function countDistricts(db: Db): Promise<number> {
  const row = await db
    .selectFrom('districts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** The shop nearest the start of the street (the demo shopkeeper key's), or null without shops. */
export async function firstShopId(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom('shops')
    .select('id')
    .orderBy('street_offset_m')
    .executeTakeFirst()
  return row?.id ?? null
}

/** Whether the registry holds a shop with this id. */
export async function shopExists(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom('shops').select('id').where('id', '=', id).executeTakeFirst()
  return row !== undefined
}
