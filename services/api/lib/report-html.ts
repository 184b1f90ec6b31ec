import { createHash } from 'node:crypto'
import type { ReportLang } from '../../shared/contracts/outlook-api.ts'
import type { PeriodFigures, ReportModel } from './report-data.ts'

/**
 * The monthly report as one self-contained HTML page (inline CSS and SVG, nothing fetched), with a
 * print stylesheet (A4, page breaks between sections kept whole): the `.html` route serves it and
 * the `.pdf` route prints it with Chromium. Pure: the model in, the page out. Italian and English.
 */

const TEXT = {
  en: {
    shopReport: 'Monthly shop report',
    districtReport: 'Monthly district report',
    monthToDate: (d: string) =>
      `Month to date: figures up to ${d}; comparisons cover the same part of each month.`,
    noDataShop: (m: string) =>
      `No data for ${m}: the shop's gateways counted no one in this month. There is nothing to report.`,
    noDataDistrict: (m: string) =>
      `No data for ${m}: no gateway of the district counted anyone in this month. There is nothing to report.`,
    overview: 'The month at a glance',
    measure: 'Measure',
    thisMonth: 'This month',
    previousMonth: 'Previous month',
    lastYear: 'Same month last year',
    footfall: 'Footfall (passers-by + visitors)',
    passersBy: 'Passers-by',
    visitors: 'Visitors',
    captureRate: 'Capture rate',
    dwell: 'Mean dwell of visitors',
    dwellHistogram: 'Visitors by dwell',
    busiest: 'Busiest hours',
    busiestCells: 'Busiest weekday and hour',
    byHour: 'Footfall by hour of day, whole month',
    events: "Effect of the month's events",
    noEvents: 'No event in the month touched this place.',
    event: 'Event',
    when: 'When',
    baseline: 'Usual (same hours, previous weeks)',
    effect: 'Effect',
    rank: 'Rank among the shops',
    rankText: (p: number, n: number) =>
      `By visitors this month the shop ranks ${p} of ${n} shops of the district. Other shops are not named.`,
    shops: 'Shops',
    zones: 'Zones',
    name: 'Name',
    forecast: 'Forecast for next month',
    forecastText: (m: string, v: string, lo: string, hi: string, w: number) =>
      `${m}: about ${v} footfall (range ${lo}–${hi}, from the last ${w} weeks of errors of the same model).`,
    forecastNoRange: (m: string, v: string) =>
      `${m}: about ${v} footfall (too little history for a range).`,
    forecastNone: 'Not enough history for a forecast.',
    method:
      'Footfall counts radio devices, not people (docs/metrics.md). The forecast is a weekly profile: the mean of the same weekday and hour over the last four usable weeks; flagged days and events are left out.',
    noComparison: 'no data',
    generated: (d: string) => `Generated ${d}`,
    weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
  },
  it: {
    shopReport: 'Rapporto mensile del negozio',
    districtReport: 'Rapporto mensile del distretto',
    monthToDate: (d: string) =>
      `Mese in corso: dati fino al ${d}; i confronti usano la stessa parte di ogni mese.`,
    noDataShop: (m: string) =>
      `Nessun dato per ${m}: i gateway del negozio non hanno contato nessuno in questo mese. Non c'è nulla da riportare.`,
    noDataDistrict: (m: string) =>
      `Nessun dato per ${m}: nessun gateway del distretto ha contato qualcuno in questo mese. Non c'è nulla da riportare.`,
    overview: 'Il mese in sintesi',
    measure: 'Misura',
    thisMonth: 'Questo mese',
    previousMonth: 'Mese precedente',
    lastYear: "Stesso mese dell'anno scorso",
    footfall: 'Passaggi (passanti + visitatori)',
    passersBy: 'Passanti',
    visitors: 'Visitatori',
    captureRate: 'Tasso di attrazione',
    dwell: 'Permanenza media dei visitatori',
    dwellHistogram: 'Visitatori per permanenza',
    busiest: 'Ore di punta',
    busiestCells: 'Giorno e ora più frequentati',
    byHour: 'Passaggi per ora del giorno, tutto il mese',
    events: 'Effetto degli eventi del mese',
    noEvents: 'Nessun evento del mese ha riguardato questo luogo.',
    event: 'Evento',
    when: 'Quando',
    baseline: 'Abituale (stesse ore, settimane precedenti)',
    effect: 'Effetto',
    rank: 'Posizione tra i negozi',
    rankText: (p: number, n: number) =>
      `Per visitatori questo mese il negozio è ${p}° su ${n} negozi del distretto. Gli altri negozi non sono nominati.`,
    shops: 'Negozi',
    zones: 'Zone',
    name: 'Nome',
    forecast: 'Previsione per il mese prossimo',
    forecastText: (m: string, v: string, lo: string, hi: string, w: number) =>
      `${m}: circa ${v} passaggi (intervallo ${lo}–${hi}, dagli errori delle ultime ${w} settimane dello stesso modello).`,
    forecastNoRange: (m: string, v: string) =>
      `${m}: circa ${v} passaggi (storico troppo breve per un intervallo).`,
    forecastNone: 'Storico insufficiente per una previsione.',
    method:
      'I passaggi contano dispositivi radio, non persone (docs/metrics.md). La previsione è un profilo settimanale: la media dello stesso giorno e ora nelle ultime quattro settimane utili, esclusi i giorni segnalati e gli eventi.',
    noComparison: 'nessun dato',
    generated: (d: string) => `Generato il ${d}`,
    weekdays: ['lun', 'mar', 'mer', 'gio', 'ven', 'sab', 'dom'],
  },
} as const

const LOCALE: Record<ReportLang, string> = { en: 'en-GB', it: 'it-IT' }

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )
}

function formatters(lang: ReportLang, tz: string) {
  const locale = LOCALE[lang]
  const int = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 })
  const pct = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 })
  const signedPct = new Intl.NumberFormat(locale, {
    style: 'percent',
    maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  })
  const monthName = (month: string) => {
    const [y, m] = month.split('-').map(Number) as [number, number]
    return new Intl.DateTimeFormat(locale, {
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    }).format(Date.UTC(y, m - 1, 15))
  }
  const dateTime = new Intl.DateTimeFormat(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: tz,
  })
  return {
    int: (n: number) => int.format(n),
    pct: (n: number | null) => (n === null ? '–' : pct.format(n)),
    change: (now: number, before: number) =>
      before > 0 ? signedPct.format(now / before - 1) : null,
    monthName,
    dateTime: (ms: number) => dateTime.format(ms),
    minutes: (s: number | null) =>
      s === null
        ? '–'
        : `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(s / 60)} min`,
  }
}

const capture = (f: PeriodFigures) => (f.footfall > 0 ? f.visitors / f.footfall : null)
const dwellMean = (f: PeriodFigures) => (f.visitors > 0 ? f.dwellSecondsSum / f.visitors : null)

/** The hour-of-day bars as an inline SVG (no script, prints as vectors). */
export function hourBars(hours: readonly number[], label: string): string {
  const w = 640
  const h = 140
  const max = Math.max(1, ...hours)
  const bw = w / 24
  const bars = hours
    .map((v, i) => {
      const bh = Math.round((v / max) * (h - 24))
      return `<rect x="${(i * bw + 2).toFixed(1)}" y="${h - 16 - bh}" width="${(bw - 4).toFixed(1)}" height="${bh}" class="bar"><title>${i}:00 ${v}</title></rect>`
    })
    .join('')
  const ticks = [0, 6, 12, 18, 23]
    .map(
      (i) =>
        `<text x="${(i * bw + bw / 2).toFixed(1)}" y="${h - 2}" text-anchor="middle">${i}</text>`,
    )
    .join('')
  return `<svg class="hours" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(label)}">${bars}${ticks}</svg>`
}

const STYLE = `
:root { color-scheme: light; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d2430; }
body { margin: 0 auto; max-width: 190mm; padding: 12mm 10mm; font-size: 10.5pt; line-height: 1.4; }
header { border-bottom: 3px solid #0b6e69; margin-bottom: 6mm; padding-bottom: 3mm; }
header .kicker { color: #0b6e69; font-weight: 600; text-transform: uppercase; letter-spacing: .06em; font-size: 9pt; }
h1 { font-size: 20pt; margin: 1mm 0; } h2 { font-size: 13pt; margin: 6mm 0 2mm; color: #0b6e69; }
section { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 1.5mm 2mm; text-align: right; border-bottom: 1px solid #d5dbe3; }
th:first-child, td:first-child { text-align: left; } thead th { background: #eef3f3; font-weight: 600; }
.change { color: #5a6472; font-size: 8.5pt; display: block; } .notice { background: #fff6db; border-left: 4px solid #d4a017; padding: 3mm; }
.empty { font-size: 13pt; padding: 10mm 4mm; text-align: center; background: #f3f5f8; border-radius: 2mm; }
svg.hours { width: 100%; height: auto; } svg.hours .bar { fill: #0b6e69; } svg.hours text { font-size: 10px; fill: #5a6472; }
footer { margin-top: 8mm; color: #5a6472; font-size: 8.5pt; border-top: 1px solid #d5dbe3; padding-top: 2mm; }
@page { size: A4; margin: 12mm; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } .no-print { display: none; } }
`

/**
 * The report page's Content-Security-Policy: its one inline stylesheet by hash, images only as
 * data: URLs, nothing else (no script, no fetch, no frame). The API's default CSP (`style-src
 * 'self'`) would leave the page unstyled.
 */
export const REPORT_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

/** The whole page. */
export function renderReportHtml(m: ReportModel): string {
  const t = TEXT[m.lang]
  const f = formatters(m.lang, m.timezone)
  const month = f.monthName(m.month.month)
  const heading = m.kind === 'shop' ? t.shopReport : t.districtReport
  const sections: string[] = []
  if (m.partial)
    sections.push(`<p class="notice">${escapeHtml(t.monthToDate(f.dateTime(m.current.to)))}</p>`)
  if (m.current.footfall === 0) {
    const message = m.kind === 'shop' ? t.noDataShop(month) : t.noDataDistrict(month)
    sections.push(`<p class="empty" data-testid="no-data">${escapeHtml(message)}</p>`)
  } else {
    sections.push(overview(m, t, f), hoursSection(m, t, f), eventsSection(m, t, f))
    if (m.kind === 'shop' && m.rank)
      sections.push(
        `<section><h2>${t.rank}</h2><p data-testid="rank">${escapeHtml(t.rankText(m.rank.position, m.rank.of))}</p></section>`,
      )
    if (m.kind === 'district') sections.push(districtTables(m, t, f))
    sections.push(forecastSection(m, t, f))
  }
  const subtitle = [m.zoneName, m.kind === 'shop' ? m.districtName : null]
    .filter(Boolean)
    .join(' · ')
  return `<!doctype html>
<html lang="${m.lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(`${heading} — ${m.title} — ${month}`)}</title>
<style>${STYLE}</style></head>
<body>
<header><div class="kicker">${escapeHtml(heading)}</div><h1>${escapeHtml(m.title)} — ${escapeHtml(month)}</h1>
${subtitle ? `<div>${escapeHtml(subtitle)}</div>` : ''}</header>
${sections.join('\n')}
<footer>${escapeHtml(t.method)}<br>${escapeHtml(t.generated(f.dateTime(m.generatedAt)))} · ${escapeHtml(m.timezone)}</footer>
</body></html>
`
}

type Text = (typeof TEXT)[ReportLang]
type Fmt = ReturnType<typeof formatters>

function cell(
  f: Fmt,
  t: Text,
  now: number | null,
  before: number | null,
  text: (n: number) => string,
) {
  if (before === null) return `<td>${t.noComparison}</td>`
  const change = now !== null ? f.change(now, before) : null
  return `<td>${text(before)}${change ? `<span class="change">${change}</span>` : ''}</td>`
}

function overview(m: ReportModel, t: Text, f: Fmt): string {
  const row = (
    label: string,
    value: (p: PeriodFigures) => number | null,
    text: (n: number) => string,
  ) => {
    const now = value(m.current)
    const others = [m.previous, m.lastYear].map((p) =>
      cell(f, t, now, p.footfall > 0 ? value(p) : null, text),
    )
    return `<tr><th scope="row">${label}</th><td>${now === null ? '–' : text(now)}</td>${others.join('')}</tr>`
  }
  const h = m.current.dwellHistogram
  const bins = [
    ['< 1', h.lt1m],
    ['1–5', h.m1to5],
    ['5–15', h.m5to15],
    ['15–60', h.m15to60],
    ['> 60', h.gt60m],
  ] as const
  return `<section data-testid="overview"><h2>${t.overview}</h2>
<table><thead><tr><th>${t.measure}</th><th>${t.thisMonth}</th><th>${t.previousMonth}</th><th>${t.lastYear}</th></tr></thead><tbody>
${row(t.footfall, (p) => p.footfall, f.int)}
${row(t.passersBy, (p) => p.passersBy, f.int)}
${row(t.visitors, (p) => p.visitors, f.int)}
${row(t.captureRate, capture, (n) => f.pct(n))}
${row(t.dwell, dwellMean, (n) => f.minutes(n))}
</tbody></table>
<h2>${t.dwellHistogram}</h2>
<table><thead><tr>${bins.map(([l]) => `<th>${l} min</th>`).join('')}</tr></thead>
<tbody><tr>${bins.map(([, v]) => `<td>${f.int(v)}</td>`).join('')}</tr></tbody></table></section>`
}

function hoursSection(m: ReportModel, t: Text, f: Fmt): string {
  const cells = m.busiest
    .map(
      (b) =>
        `<li>${t.weekdays[b.weekday - 1] ?? ''} ${String(b.hour).padStart(2, '0')}:00–${String(b.hour + 1).padStart(2, '0')}:00 · ${f.int(b.footfall)}</li>`,
    )
    .join('')
  return `<section data-testid="busiest"><h2>${t.busiest}</h2>
<p>${t.busiestCells}:</p><ol>${cells}</ol>
<p>${t.byHour}</p>${hourBars(m.hours, t.byHour)}</section>`
}

function eventsSection(m: ReportModel, t: Text, f: Fmt): string {
  if (!m.events.length)
    return `<section data-testid="events"><h2>${t.events}</h2><p>${t.noEvents}</p></section>`
  const rows = m.events
    .map((e) => {
      const effect =
        e.baseline !== null && e.baseline > 0
          ? `${f.change(e.footfall, e.baseline) ?? '±0'} (${e.footfall - e.baseline >= 0 ? '+' : ''}${f.int(e.footfall - e.baseline)})`
          : '–'
      return `<tr><td>${escapeHtml(e.name)}</td><td>${escapeHtml(f.dateTime(e.from))} – ${escapeHtml(f.dateTime(e.to))}</td><td>${f.int(e.footfall)}</td><td>${e.baseline === null ? '–' : f.int(e.baseline)}</td><td>${effect}</td></tr>`
    })
    .join('')
  return `<section data-testid="events"><h2>${t.events}</h2><table><thead><tr><th>${t.event}</th><th>${t.when}</th><th>${t.footfall}</th><th>${t.baseline}</th><th>${t.effect}</th></tr></thead><tbody>${rows}</tbody></table></section>`
}

function districtTables(m: ReportModel, t: Text, f: Fmt): string {
  const table = (title: string, rows: { name: string; footfall: number; previous: number }[]) =>
    `<section><h2>${title}</h2><table><thead><tr><th>${t.name}</th><th>${t.footfall}</th><th>${t.previousMonth}</th></tr></thead><tbody>${rows
      .map(
        (r) =>
          `<tr><td>${escapeHtml(r.name)}</td><td>${f.int(r.footfall)}</td><td>${f.int(r.previous)}${
            f.change(r.footfall, r.previous)
              ? `<span class="change">${f.change(r.footfall, r.previous)}</span>`
              : ''
          }</td></tr>`,
      )
      .join('')}</tbody></table></section>`
  return table(t.zones, m.zones) + table(t.shops, m.shops)
}

function forecastSection(m: ReportModel, t: Text, f: Fmt): string {
  const next = f.monthName(m.next.month)
  const fc = m.forecast
  const text =
    fc.value === null
      ? t.forecastNone
      : fc.low !== null && fc.high !== null
        ? t.forecastText(next, f.int(fc.value), f.int(fc.low), f.int(fc.high), fc.backtestWeeks)
        : t.forecastNoRange(next, f.int(fc.value))
  return `<section data-testid="forecast"><h2>${t.forecast}</h2><p>${escapeHtml(text)}</p></section>`
}
