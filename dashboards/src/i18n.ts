import type { MeResponse } from '../../services/shared/contracts/api.ts'

export type Lang = 'en' | 'it'
export type RangeKind = 'last-hour' | 'today' | 'last-7-days'

export interface Messages {
  locale: string
  appTitle: string
  brand: string
  language: string
  languageNames: Record<Lang, string>
  signIn: {
    heading: string
    intro: string
    apiKey: string
    apiKeyHint: string
    submit: string
    submitting: string
    missingKey: string
  }
  signOut: string
  signedInAs: (label: string, role: string) => string
  roles: Record<MeResponse['role'], string>
  footfall: {
    heading: string
    range: string
    ranges: Record<RangeKind, string>
    autoRefresh: string
    loading: string
    refreshing: string
    updatedAt: (time: string) => string
    empty: string
    passersBy: string
    visitors: string
    axis: string
    zone: string
    tableCaption: (range: string) => string
    note: string
  }
  errors: {
    unauthorised: string
    badResponse: string
    http: (status: number, message: string) => string
    network: string
    unexpected: string
  }
}

export const en: Messages = {
  locale: 'en',
  appTitle: 'Miglio · Footfall per zone',
  brand: 'Miglio',
  language: 'Language',
  languageNames: { en: 'English', it: 'Italiano' },
  signIn: {
    heading: 'Sign in',
    intro: 'Enter the API key you received from your district administrator.',
    apiKey: 'API key',
    apiKeyHint: 'The key is kept only in this browser tab and forgotten when you close it.',
    submit: 'Sign in',
    submitting: 'Signing in…',
    missingKey: 'Enter an API key.',
  },
  signOut: 'Sign out',
  signedInAs: (label, role) => `Signed in as ${label} (${role})`,
  roles: { admin: 'administrator', analyst: 'analyst', shopkeeper: 'shopkeeper' },
  footfall: {
    heading: 'Footfall per zone',
    range: 'Range',
    ranges: { 'last-hour': 'Last hour', today: 'Today', 'last-7-days': 'Last 7 days' },
    autoRefresh: 'Updates every 15 seconds.',
    loading: 'Loading…',
    refreshing: 'Refreshing…',
    updatedAt: (time) => `Updated at ${time}`,
    empty: 'No transits in this range yet',
    passersBy: 'Passers-by',
    visitors: 'Visitors',
    axis: 'Pedestrians (transits)',
    zone: 'Zone',
    tableCaption: (range) => `Passers-by and visitors per zone, ${range.toLowerCase()}`,
    note: 'Counts are transits detected by the gateways, not estimated people. Repeat visits on different days are not linked, by design: daily keys make them unlinkable.',
  },
  errors: {
    unauthorised: 'This API key was not accepted. Check it and sign in again.',
    badResponse: 'The server sent data in an unexpected shape. Please try again later.',
    http: (status, message) => `The server answered with an error (${status}): ${message}`,
    network: 'The server could not be reached. Check the connection.',
    unexpected: 'Something went wrong while showing the data. Try reloading the page.',
  },
}

export const it: Messages = {
  locale: 'it-IT',
  appTitle: 'Miglio · Passaggi per zona',
  brand: 'Miglio',
  language: 'Lingua',
  languageNames: { en: 'English', it: 'Italiano' },
  signIn: {
    heading: 'Accedi',
    intro: 'Inserisci la chiave API ricevuta dall’amministratore del distretto.',
    apiKey: 'Chiave API',
    apiKeyHint:
      'La chiave resta solo in questa scheda del browser e viene dimenticata alla chiusura.',
    submit: 'Accedi',
    submitting: 'Accesso in corso…',
    missingKey: 'Inserisci una chiave API.',
  },
  signOut: 'Esci',
  signedInAs: (label, role) => `Accesso come ${label} (${role})`,
  roles: { admin: 'amministratore', analyst: 'analista', shopkeeper: 'negoziante' },
  footfall: {
    heading: 'Passaggi per zona',
    range: 'Periodo',
    ranges: { 'last-hour': 'Ultima ora', today: 'Oggi', 'last-7-days': 'Ultimi 7 giorni' },
    autoRefresh: 'Si aggiorna ogni 15 secondi.',
    loading: 'Caricamento…',
    refreshing: 'Aggiornamento…',
    updatedAt: (time) => `Aggiornato alle ${time}`,
    empty: 'Ancora nessun transito in questo periodo',
    passersBy: 'Passanti',
    visitors: 'Visitatori',
    axis: 'Pedoni (transiti)',
    zone: 'Zona',
    tableCaption: (range) => `Passanti e visitatori per zona, ${range.toLowerCase()}`,
    note: 'I conteggi sono transiti rilevati dai gateway, non persone stimate. Le visite ripetute in giorni diversi non sono collegate, per scelta: le chiavi giornaliere le rendono non collegabili.',
  },
  errors: {
    unauthorised: 'Questa chiave API non è stata accettata. Controllala e accedi di nuovo.',
    badResponse: 'Il server ha inviato dati in un formato inatteso. Riprova più tardi.',
    http: (status, message) => `Il server ha risposto con un errore (${status}): ${message}`,
    network: 'Il server non è raggiungibile. Controlla la connessione.',
    unexpected: 'Qualcosa è andato storto nel mostrare i dati. Prova a ricaricare la pagina.',
  },
}

export const messages: Record<Lang, Messages> = { en, it }

export function isLang(value: unknown): value is Lang {
  return value === 'en' || value === 'it'
}

export function pickLang(preferred: readonly string[]): Lang {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split('-')[0]
    if (isLang(primary)) return primary
  }
  return 'en'
}
