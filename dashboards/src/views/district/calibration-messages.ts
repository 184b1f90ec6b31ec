import type {
  CalibrationReminder,
  CountKind,
  GatewayCalibrationDto,
} from '../../../../services/shared/contracts/calibration.ts'
import type { Messages } from '../../i18n.ts'

/** The calibration panel's words, in English and Italian (chosen by the reader's language). */
export interface CalibrationMessages {
  heading: string
  note: string
  gateway: string
  zone: string
  version: string
  fitted: string
  mae: string
  mape: string
  coverage: string
  sessions: string
  attention: string
  none: string
  noGateways: string
  reminders: Record<CalibrationReminder, (g: GatewayCalibrationDto, maxAgeDays: number) => string>
  refused: (reason: string) => string
  ok: string
  form: {
    heading: string
    intro: string
    zone: string
    gateway: string
    allGateways: string
    start: (timeZone: string) => string
    end: (timeZone: string) => string
    kind: string
    kinds: Record<CountKind, string>
    people: string
    countedBy: string
    note: string
    submit: string
    submitting: string
    added: (people: number, zone: string) => string
    refused: (message: string) => string
  }
}

const pct = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toFixed(0))

const en: CalibrationMessages = {
  heading: 'Calibration: people from devices',
  note: 'Each gateway turns devices into people with a calibration fitted from manual counts. Quality is measured on counts the fit did not see: MAE in people, MAPE on counts of 3 people or more, and how often the 90 % interval held the count.',
  gateway: 'Gateway',
  zone: 'Zone',
  version: 'Version',
  fitted: 'Fitted',
  mae: 'MAE (people)',
  mape: 'MAPE',
  coverage: '90 % interval coverage',
  sessions: 'Counts',
  attention: 'Attention',
  none: 'not calibrated',
  noGateways: 'No gateways.',
  reminders: {
    never: () => 'Never calibrated: record counts and fit.',
    old: (g, days) =>
      `Calibrated ${Math.floor(g.ageDays ?? 0)} days ago (more than ${days}): count again.`,
    poor_coverage: (g) =>
      `Interval coverage ${pct(g.current?.quality.coveragePct)} % is outside 80–97 %: count more sessions.`,
    poor_mape: (g) =>
      `Error ${pct(g.current?.quality.mapePct)} % MAPE is above 30 %: count more sessions, busy and quiet.`,
  },
  refused: (reason) => `Last fit not applied: ${reason}`,
  ok: 'OK',
  form: {
    heading: 'Record a count',
    intro:
      'Count the people in the zone (present: a head count every few minutes, averaged over the window) or those who came in or went out. Fit within two days of counting.',
    zone: 'Zone',
    gateway: 'Gateway',
    allGateways: 'All gateways of the zone',
    start: (timeZone) => `Start (local time, ${timeZone})`,
    end: (timeZone) => `End (local time, ${timeZone})`,
    kind: 'What was counted',
    kinds: { present: 'People present (mean)', in: 'People in', out: 'People out' },
    people: 'People',
    countedBy: 'Counted by',
    note: 'Note',
    submit: 'Record count',
    submitting: 'Recording…',
    added: (people, zone) => `Count of ${people} people in ${zone} recorded.`,
    refused: (message) => `The count was not recorded: ${message}`,
  },
}

const it: CalibrationMessages = {
  heading: 'Calibrazione: dai dispositivi alle persone',
  note: 'Ogni gateway converte i dispositivi in persone con una calibrazione stimata dai conteggi manuali. La qualità è misurata su conteggi che la stima non ha visto: MAE in persone, MAPE sui conteggi di almeno 3 persone e quante volte l’intervallo al 90 % conteneva il conteggio.',
  gateway: 'Gateway',
  zone: 'Zona',
  version: 'Versione',
  fitted: 'Stimata il',
  mae: 'MAE (persone)',
  mape: 'MAPE',
  coverage: 'Copertura dell’intervallo al 90 %',
  sessions: 'Conteggi',
  attention: 'Attenzione',
  none: 'non calibrato',
  noGateways: 'Nessun gateway.',
  reminders: {
    never: () => 'Mai calibrato: registra dei conteggi e stima la calibrazione.',
    old: (g, days) =>
      `Calibrato ${Math.floor(g.ageDays ?? 0)} giorni fa (più di ${days}): conta di nuovo.`,
    poor_coverage: (g) =>
      `Copertura dell’intervallo ${pct(g.current?.quality.coveragePct)} %, fuori da 80–97 %: servono più conteggi.`,
    poor_mape: (g) =>
      `Errore ${pct(g.current?.quality.mapePct)} % MAPE, sopra il 30 %: servono più conteggi, con molta e poca gente.`,
  },
  refused: (reason) => `Ultima stima non applicata: ${reason}`,
  ok: 'OK',
  form: {
    heading: 'Registra un conteggio',
    intro:
      'Conta le persone nella zona (presenti: una conta ogni pochi minuti, in media sulla finestra) oppure quelle entrate o uscite. Stima la calibrazione entro due giorni dal conteggio.',
    zone: 'Zona',
    gateway: 'Gateway',
    allGateways: 'Tutti i gateway della zona',
    start: (timeZone) => `Inizio (ora locale, ${timeZone})`,
    end: (timeZone) => `Fine (ora locale, ${timeZone})`,
    kind: 'Cosa è stato contato',
    kinds: { present: 'Persone presenti (media)', in: 'Persone entrate', out: 'Persone uscite' },
    people: 'Persone',
    countedBy: 'Contato da',
    note: 'Nota',
    submit: 'Registra conteggio',
    submitting: 'Salvataggio…',
    added: (people, zone) => `Conteggio di ${people} persone in ${zone} registrato.`,
    refused: (message) => `Il conteggio non è stato registrato: ${message}`,
  },
}

export function calibrationMessages(m: Messages): CalibrationMessages {
  return m.locale.startsWith('it') ? it : en
}
