import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { sql } from 'kysely'
import { z } from 'zod'
import {
  DistrictReportParamsSchema,
  ReportQuerySchema,
  ShopReportParamsSchema,
  type ReportLang,
} from '../../../shared/contracts/outlook-api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { assertShopAccess, requirePrincipal, requireRole } from '../../plugins/auth.ts'
import { findShop } from '../../queries/shop-queries.ts'
import { gatherReport, type ReportSubject } from '../../lib/report-data.ts'
import { REPORT_CSP, renderReportHtml } from '../../lib/report-html.ts'
import { createPdfQueue } from '../../lib/pdf.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'
import { ErrorBodySchema } from '../../../shared/contracts/api.ts'

export type ReportRouteOptions = {
  db: Db
  timeZone: () => Promise<string>
  now: () => number
  /** The Chromium that prints the PDFs. */
  chromium: string
}

/** Two Chromiums at most at once per API process. */
const PDF_CONCURRENCY = 2

const REPORT_RESPONSES = {
  200: z.string().describe('The report: text/html, or application/pdf'),
  ...AUTH_ERRORS,
  ...NOT_FOUND,
  503: ErrorBodySchema.describe('The PDF could not be rendered (no Chromium, or it failed)'),
}

/** `lang=it|en`, else the first of Accept-Language that is Italian or English, else English. */
export function reportLang(query: ReportLang | undefined, accept: string | undefined): ReportLang {
  if (query) return query
  for (const part of (accept ?? '').split(',')) {
    const tag = part.trim().slice(0, 2).toLowerCase()
    if (tag === 'it' || tag === 'en') return tag
  }
  return 'en'
}

async function districtName(db: Db): Promise<string> {
  const row = await db
    .selectFrom('districts')
    .select('name')
    .orderBy(sql`loaded_at`, 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.name ?? 'Miglio'
}

export default async function reportRoutes(app: FastifyInstance, opts: ReportRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()
  const pdf = createPdfQueue(PDF_CONCURRENCY)

  const answer = async (
    req: FastifyRequest,
    reply: FastifyReply,
    subject: ReportSubject,
    file: string,
    lang: ReportLang | undefined,
  ) => {
    const [month, ext] = file.split('.') as [string, 'html' | 'pdf']
    const tz = await opts.timeZone()
    const model = await gatherReport(opts.db, subject, {
      month,
      tz,
      now: opts.now(),
      lang: reportLang(lang, req.headers['accept-language']),
      districtName: await districtName(opts.db),
    })
    const html = renderReportHtml(model)
    const name = `${subject.kind === 'shop' ? subject.shopId : 'district'}-${month}`
    reply.header('cache-control', 'private, no-store')
    if (ext === 'html')
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', REPORT_CSP)
        .send(html)
    const body = await pdf(html, { chromium: opts.chromium })
    return reply
      .type('application/pdf')
      .header('content-disposition', `inline; filename="miglio-${name}.pdf"`)
      .send(body)
  }

  r.get(
    '/shops/:shopId/reports/:file',
    {
      schema: {
        tags: ['reports'],
        summary:
          'Monthly shop report as printable HTML or PDF (shopkeeper: its own shop; analyst, admin: any)',
        description:
          "`file` is `YYYY-MM.html` or `YYYY-MM.pdf` (the local month of the district). Footfall, passers-by, visitors, capture rate and dwell vs the previous month and the same month last year, busiest hours, the effect of the month's events on the shop, its anonymous rank by visitors, and the forecast for next month. `lang=it|en` (default: Accept-Language, else English). A month without data says so.",
        params: ShopReportParamsSchema,
        querystring: ReportQuerySchema,
        response: REPORT_RESPONSES,
      },
    },
    async (req, reply) => {
      const p = requirePrincipal(req)
      const shop = await findShop(opts.db, req.params.shopId)
      if (!shop)
        throw new AppError('not_found', `shop ${req.params.shopId} does not exist`, {
          statusCode: 404,
        })
      assertShopAccess(p, shop.id)
      const zone = await opts.db
        .selectFrom('zones')
        .select('name')
        .where('id', '=', shop.zoneId)
        .executeTakeFirst()
      return answer(
        req,
        reply,
        {
          kind: 'shop',
          shopId: shop.id,
          shopName: shop.name,
          zoneId: shop.zoneId,
          zoneName: zone?.name ?? shop.zoneId,
        },
        req.params.file,
        req.query.lang,
      )
    },
  )

  r.get(
    '/district/reports/:file',
    {
      schema: {
        tags: ['reports'],
        summary: 'Monthly district report as printable HTML or PDF (analyst, admin)',
        description:
          'The district totals on the pattern of the shop report, with every zone and every shop (named) against the previous month.',
        params: DistrictReportParamsSchema,
        querystring: ReportQuerySchema,
        response: REPORT_RESPONSES,
      },
    },
    async (req, reply) => {
      requireRole(req, 'admin', 'analyst')
      return answer(req, reply, { kind: 'district' }, req.params.file, req.query.lang)
    },
  )
}
