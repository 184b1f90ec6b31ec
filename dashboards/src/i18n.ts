import type { GatewayDto, MeResponse } from '../../services/shared/contracts/api.ts'
import type { DwellBin } from './charts/dwell-histogram.ts'
import type { GatewayHealth } from './charts/zone-map.ts'
import type { CrowdLevel } from '../../services/shared/contracts/api.ts'

export type Lang = 'en' | 'it'
export type RangeKind = 'last-hour' | 'today' | 'last-7-days'
export type SeriesPeriod = 'day' | 'week'
export type CompareMode = 'wow' | 'yoy'

export interface Messages {
  locale: string
  appTitle: string
  brand: string
  language: string
  languageNames: Record<Lang, string>
  skipToContent: string
  nav: {
    label: string
    district: string
    myShop: string
    shop: string
    street: string
    chooseShop: string
  }
  signIn: {
    heading: string
    intro: string
    apiKey: string
    apiKeyHint: string
    submit: string
    submitting: string
    missingKey: string
    publicLink: string
  }
  signOut: string
  signedInAs: (label: string, role: string) => string
  roles: Record<MeResponse['role'], string>
  chart: { loading: string; empty: string; noData: string }
  /** The district's outlook (issue #17): the last days, the forecast, a context overlay. */
  outlook: {
    heading: string
    note: string
    actual: string
    forecast: string
    interval: string
    now: string
    yAxis: string
    context: (variable: string) => string
    report: string
    reportNote: string
    reportMonth: string
    reportHtml: string
    reportPdf: string
    reportFailed: string
  }
  /** Context imports and the days flagged out of baselines (issue #17, analysts). */
  context: {
    heading: string
    note: string
    uploadHeading: string
    file: string
    upload: string
    uploading: string
    noFile: string
    imported: (rows: string, variables: string) => string
    refused: string
    flagHeading: string
    day: string
    zone: string
    wholeDistrict: string
    reason: string
    flag: string
    flagged: (day: string) => string
    flagRefused: (reason: string) => string
    listHeading: string
    none: string
    unflag: string
    unflagLabel: (day: string, zone: string) => string
    unflagged: (day: string) => string
  }
  live: {
    connecting: string
    live: (time: string) => string
    waiting: string
    reconnecting: (seconds: number) => string
    unauthorised: string
    stopped: string
    last15m: string
  }
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
  kpi: {
    passersBy: string
    visitors: string
    captureRate: string
    dwell: string
    people: string
    /** The 95 % counting band under the estimate, already formatted numbers. */
    band: (low: string, high: string) => string
    thisHour: string
    usualFor: (weekday: string, hour: number, usual: string, range: string) => string
    vsLastWeek: string
    vsUsual: string
    noBaseline: string
  }
  district: {
    heading: (name: string) => string
    mapHeading: string
    mapNote: string
    footfallLegend: string
    gateways: string
    north: string
    health: Record<GatewayHealth, string>
    seriesHeading: string
    period: string
    periods: Record<SeriesPeriod, string>
    compare: string
    compareModes: Record<CompareMode, string>
    current: Record<SeriesPeriod, string>
    baseline: Record<SeriesPeriod, Record<CompareMode, string>>
    seriesAxis: Record<SeriesPeriod, string>
    usualRange: string
    historyProgress: (weeksDone: number, weeksTotal: number) => string
    alertsHeading: string
    alertsNone: string
    acknowledge: string
    acknowledged: string
    heatmapHeading: string
    heatmapNote: string
    heatmapValue: string
    hourAxis: string
    busiest: string
    shopsHeading: string
    shopsNote: string
    captureRate: string
    dwell: string
    noVisitors: string
    flowsHeading: string
    noFlows: string
    flowsNote: string
    forward: string
    backward: string
    suppressed: (k: number, cells: number) => string
    flow: (origin: string, dest: string) => string
    flowsUnit: string
    travel: string
    eventsHeading: string
    eventsNote: string
    noEvents: string
    event: string
    when: string
    footfallDuring: string
    usual: string
    uplift: string
    spread: string
    status: Record<'upcoming' | 'running' | 'finished', string>
    notMeasured: string
  }
  quality: {
    heading: string
    gatewaysOk: (ok: number, total: number) => string
    gatewayProblems: string
    allOk: string
    gateway: string
    zone: string
    health: string
    lastHeard: string
    never: string
    secondsAgo: (s: string) => string
    format: string
    formats: Record<GatewayDto['format'], string>
    lastMessage: string
    allGateways: (count: number) => string
    deadLetters: string
    deadLetterRate: (rate: string, rejected: string, batches: string) => string
    deadLettersAdminOnly: string
    topReasons: string
    latest: string
    time: string
    reason: string
    detail: string
    noDeadLetters: string
    page: (page: number, pages: number, total: string) => string
    newer: string
    older: string
    pages: string
  }
  deviceCounts: {
    heading: string
    note: string
    /** First words of the chart's description: the figures are devices, not people. */
    notice: string
    wifi: string
    ble: string
    yAxis: string
    peak: string
    empty: string
    sources: string
    gateway: string
    zone: string
    reports: string
    wifiMean: string
    bleMean: string
    table: string
    time: string
  }
  people: {
    heading: string
    /** The shop view's heading: inside vs in front. */
    shopHeading: string
    note: string
    present: string
    interval: string
    arrivals: string
    yAxis: string
    uncalibrated: string
    peak: string
    empty: string
    inside: string
    inFront: string
    table: string
    time: string
    presentLow: string
    presentHigh: string
    /** Shown instead of the chart when the range is longer than the API serves. */
    tooLong: string
  }
  tables: {
    heatmap: string
    series: string
    shops: string
    flows: string
    dwell: string
    busiest: string
    week: string
    time: string
    weekday: string
    hour: string
    day: string
    shop: string
    origin: string
    destination: string
    flowsCount: string
    medianWalk: string
    withheld: string
    forecast: string
    forecastTotal: string
    forecastPeak: string
  }
  downloads: {
    heading: string
    note: string
    footfall: (range: string) => string
    heatmap: string
    flows: (range: string) => string
    events: string
    failed: string
  }
  eventForm: {
    heading: string
    name: string
    zones: string
    start: (timeZone: string) => string
    end: (timeZone: string) => string
    submit: string
    submitting: string
    added: (name: string) => string
    refused: (message: string) => string
    actions: string
    delete: string
    deleteLabel: (name: string) => string
    confirm: string
    confirmLabel: (name: string) => string
    cancel: string
    deleted: (name: string) => string
    deleteFailed: (message: string) => string
  }
  shop: {
    heading: (name: string) => string
    todayHeading: string
    todayNote: (weeks: number) => string
    usual: (value: string) => string
    rankHeading: string
    rank: (rank: number, shops: number) => string
    percentile: (pct: string) => string
    rankNote: string
    dwellHeading: string
    dwellBins: Record<DwellBin, string>
    dwellAxis: string
    dwellX: string
    busiestHeading: (weekday: string) => string
    busiestNote: string
    noHistory: string
    busiestAxis: string
    busiest: string
    hourAxis: string
    weekHeading: string
    weekAxis: string
    dayAxis: string
    today: string
    downloads: string
    downloadHourly: string
    downloadDaily: string
    downloadFailed: string
    liveHeading: string
    liveToday: (passers: string, visitors: string) => string
    forbidden: string
    goToMyShop: string
    notFound: (id: string) => string
    repeatNote: string
    forecastHeading: string
    forecastNote: string
    forecastToday: string
    forecastEmpty: string
  }
  street: {
    heading: string
    intro: (minutes: number) => string
    levels: Record<CrowdLevel, string>
    disabled: string
    updatedAt: (time: string) => string
    noZones: string
    signInLink: string
  }
  districtOnly: string
  errors: {
    unauthorised: string
    forbidden: string
    notFound: string
    badResponse: string
    http: (status: number, message: string) => string
    network: string
    unexpected: string
  }
}

export const en: Messages = {
  locale: 'en-GB',
  appTitle: 'Miglio · Footfall per zone',
  brand: 'Miglio',
  language: 'Language',
  languageNames: { en: 'English', it: 'Italiano' },
  skipToContent: 'Skip to content',
  nav: {
    label: 'Views',
    district: 'District',
    myShop: 'My shop',
    shop: 'Shops',
    street: 'Street screen',
    chooseShop: 'Shop',
  },
  signIn: {
    heading: 'Sign in',
    intro: 'Enter the API key you received from your district administrator.',
    apiKey: 'API key',
    apiKeyHint: 'The key is kept only in this browser tab and forgotten when you close it.',
    submit: 'Sign in',
    submitting: 'Signing in…',
    missingKey: 'Enter an API key.',
    publicLink: 'Open the public street screen (no key needed)',
  },
  signOut: 'Sign out',
  signedInAs: (label, role) => `Signed in as ${label} (${role})`,
  roles: { admin: 'administrator', analyst: 'analyst', shopkeeper: 'shopkeeper' },
  chart: { loading: 'Loading…', empty: 'No transits in this range yet', noData: 'No data' },
  outlook: {
    heading: 'Last 3 days and the next 7',
    note: 'Forecast: the average of the same weekday and hour over the last four usable weeks (flagged days and events left out), with its 90 % interval. Bars: imported context.',
    actual: 'Footfall',
    forecast: 'Forecast',
    interval: '90 % interval',
    now: 'now',
    yAxis: 'Transits per hour',
    context: (variable) => `${variable} (context)`,
    report: 'Monthly report',
    reportNote:
      'A printable page for the month: footfall against the month before and last year, busiest hours, events, rank and next month’s forecast.',
    reportMonth: 'Month',
    reportHtml: 'Page (HTML)',
    reportPdf: 'PDF',
    reportFailed: 'The report could not be downloaded. Try again.',
  },
  context: {
    heading: 'Context and flagged days',
    note: 'Import context (weather, markets, roadworks) as a CSV: time, zone or district, variable, value. Flag the days that were not normal: they are left out of usual values, bands and forecasts.',
    uploadHeading: 'Import a context file',
    file: 'CSV file',
    upload: 'Import',
    uploading: 'Importing…',
    noFile: 'Choose a CSV file first.',
    imported: (rows, variables) => `Imported ${rows} rows: ${variables}.`,
    refused: 'The file was refused and nothing was imported:',
    flagHeading: 'Flag a day',
    day: 'Day',
    zone: 'Zone',
    wholeDistrict: 'The whole district',
    reason: 'Reason',
    flag: 'Flag the day',
    flagged: (day) => `${day} is flagged.`,
    flagRefused: (reason) => `Not flagged: ${reason}`,
    listHeading: 'Flagged days',
    none: 'No day is flagged.',
    unflag: 'Unflag',
    unflagLabel: (day, zone) => `Unflag ${day} (${zone})`,
    unflagged: (day) => `${day} is no longer flagged.`,
  },
  live: {
    connecting: 'Connecting to the live feed…',
    live: (time) => `Live · updated ${time}`,
    waiting: 'Live · waiting for the first update',
    reconnecting: (seconds) => `Live feed lost · reconnecting in ${seconds} s`,
    unauthorised: 'Live feed refused this key',
    stopped: 'Live feed off',
    last15m: 'transits in the last 15 min (live)',
  },
  footfall: {
    heading: 'Footfall per zone',
    range: 'Range',
    ranges: { 'last-hour': 'Last hour', today: 'Today', 'last-7-days': 'Last 7 days' },
    autoRefresh: 'Updates every minute; the map is live.',
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
  kpi: {
    passersBy: 'Passers-by',
    visitors: 'Visitors',
    captureRate: 'Capture rate',
    dwell: 'Mean dwell',
    people: 'Estimated people',
    band: (low, high) => `95 % band ${low}–${high} (counting only)`,
    thisHour: 'This hour so far',
    usualFor: (weekday, hour, usual, range) =>
      `usual for a ${weekday} at ${hour}: ${usual} (${range})`,
    vsLastWeek: 'vs same time last week',
    vsUsual: 'vs usual',
    noBaseline: 'no comparison yet',
  },
  district: {
    heading: (name) => name,
    mapHeading: 'Map of the mile',
    mapNote:
      'Zones coloured by transits in the chosen range. Red figures: transits in the last 15 minutes, updated live. Symbols: gateways where they are installed, and their health.',
    footfallLegend: 'Transits in range',
    gateways: 'Gateways',
    north: 'North',
    health: {
      ok: 'OK',
      silent: 'Silent',
      offline: 'Offline',
      unknown: 'Never heard',
      inactive: 'Inactive',
    },
    seriesHeading: 'Footfall over time',
    period: 'Period',
    periods: { day: 'Last 24 hours', week: 'Last 7 days' },
    compare: 'Compare with',
    compareModes: { wow: 'The week before', yoy: 'Same week last year' },
    current: { day: 'Last 24 hours', week: 'Last 7 days' },
    baseline: {
      day: { wow: 'Same hours a week earlier', yoy: 'Same hours 52 weeks earlier' },
      week: { wow: 'The 7 days before', yoy: 'Same days 52 weeks earlier' },
    },
    seriesAxis: { day: 'Transits per 15 min', week: 'Transits per hour' },
    usualRange: 'Usual range (same weekday and hour, last 8 weeks)',
    historyProgress: (done, total) => `history: ${done} of ${total} weeks`,
    alertsHeading: 'Alerts',
    alertsNone: 'No open alerts',
    acknowledge: 'Acknowledge',
    acknowledged: 'Acknowledged',
    heatmapHeading: 'Hour × weekday, last 4 weeks',
    heatmapNote: 'Mean transits per hour, all zones. The busiest hour is outlined.',
    heatmapValue: 'Mean transits per hour',
    hourAxis: 'Hour of day',
    busiest: 'Busiest',
    shopsHeading: 'Capture rate and dwell per shop',
    shopsNote:
      'Capture rate = visitors ÷ (visitors + passers-by) at the shop’s gateway. Dwell = mean time inside of visitors.',
    captureRate: 'Capture rate',
    dwell: 'Mean dwell',
    noVisitors: 'no visitors',
    flowsHeading: 'Flows along the street',
    noFlows: 'No flows published for this range yet',
    flowsNote:
      'People seen in one zone and later the same day in another. Pairs with fewer devices than the privacy threshold are not published.',
    forward: 'Along the mile (→)',
    backward: 'Back along the mile (←)',
    suppressed: (k, cells) =>
      `${cells} ${cells === 1 ? 'pair' : 'pairs'} under ${k} devices: withheld`,
    flow: (origin, dest) => `${origin} → ${dest}`,
    flowsUnit: 'flows',
    travel: 'median walk',
    eventsHeading: 'Events and their uplift',
    eventsNote:
      'Footfall in the event’s zones during its window, against the same weekday and hours of the 4 weeks before.',
    noEvents: 'No events in the last 90 days.',
    event: 'Event',
    when: 'When',
    footfallDuring: 'Transits',
    usual: 'Usual',
    uplift: 'Uplift',
    spread: 'Usual range',
    status: { upcoming: 'upcoming', running: 'running', finished: 'finished' },
    notMeasured: 'not measured yet',
  },
  quality: {
    heading: 'Data quality',
    gatewaysOk: (ok, total) => `${ok} of ${total} gateways reporting`,
    gatewayProblems: 'Gateways needing attention',
    allOk: 'Every gateway is reporting.',
    gateway: 'Gateway',
    zone: 'Zone',
    health: 'Health',
    lastHeard: 'Last batch',
    never: 'never',
    secondsAgo: (s) => `${s} s ago`,
    format: 'Format',
    formats: {
      native: 'Miglio native',
      omg: 'OpenMQTTGateway / Theengs',
      espresense: 'ESPresense',
      sniffer: 'ESP32 probe sniffer',
      meraki: 'Cisco Meraki',
      paxcounter: 'Paxcounter (device counts)',
    },
    lastMessage: 'Last message',
    allGateways: (count) => `All gateways (${count}): format and last message`,
    deadLetters: 'Rejected messages, last 24 hours',
    deadLetterRate: (rate, rejected, batches) =>
      `${rate} of messages rejected (${rejected} of ${batches})`,
    deadLettersAdminOnly: 'Rejected-message figures are shown to administrators.',
    topReasons: 'Most frequent reasons',
    latest: 'Latest rejected messages',
    time: 'Received',
    reason: 'Reason',
    detail: 'Detail',
    noDeadLetters: 'No rejected messages. Every message was accepted.',
    page: (page, pages, total) => `Page ${page} of ${pages} (${total} messages)`,
    newer: 'Newer',
    older: 'Older',
    pages: 'Pages of rejected messages',
  },
  deviceCounts: {
    heading: 'Device counts — not pedestrians',
    note: 'Counted by Paxcounter gateways, which send only how many Wi-Fi and BLE devices they heard in each report. Devices are not people: phones change their addresses, and a person carries several devices or none. These figures are never added to footfall.',
    notice: 'Device counts, not pedestrians',
    wifi: 'Wi-Fi devices',
    ble: 'BLE devices',
    yAxis: 'Devices per report (mean)',
    peak: 'peak',
    empty: 'No device counts in this range yet',
    sources: 'Count sources over the range (devices, not pedestrians)',
    gateway: 'Gateway',
    zone: 'Zone',
    reports: 'Reports',
    wifiMean: 'Wi-Fi devices (mean)',
    bleMean: 'BLE devices (mean)',
    table: 'Show as a table: device counts over time',
    time: 'Time',
  },
  people: {
    heading: 'People present and arriving (estimated)',
    shopHeading: 'People inside and in front of the shop (estimated)',
    note: 'People, not devices: estimated from the devices heard, with phones’ changing addresses joined up and always-on devices left out, then turned into people by the gateway’s calibration from manual counts. The band is the 90 % interval. Without a calibration every device counts as one person and the band is wide.',
    present: 'People present',
    interval: '90 % interval',
    arrivals: 'People arriving',
    yAxis: 'People (estimated)',
    uncalibrated: 'Not calibrated: devices counted as people, with a wide interval.',
    peak: 'peak',
    empty: 'No people figures in this range yet',
    inside: 'Inside',
    inFront: 'In front',
    table: 'Show as a table: people present and arriving over time',
    time: 'Time',
    presentLow: 'Present, 90 % low',
    presentHigh: 'Present, 90 % high',
    tooLong: 'People figures are served for ranges up to 31 days.',
  },
  tables: {
    heatmap: 'Show as a table: mean transits per hour, weekday × hour',
    series: 'Show as a table: footfall over time',
    shops: 'Show as a table: capture rate and dwell per shop',
    flows: 'Show as a table: flows between zones',
    dwell: 'Show as a table: visitors by time inside',
    busiest: 'Show as a table: mean per hour',
    week: 'Show as a table: the last 7 days',
    time: 'Time',
    weekday: 'Day',
    hour: 'Hour',
    day: 'Day',
    shop: 'Shop',
    origin: 'From',
    destination: 'To',
    flowsCount: 'Flows',
    medianWalk: 'Median walk',
    withheld: 'withheld (under the privacy threshold)',
    forecast: 'Show as a table: the forecast by day',
    forecastTotal: 'Forecast transits',
    forecastPeak: 'Busiest hour',
  },
  downloads: {
    heading: 'Download the data (CSV)',
    note: 'The same figures as on this page, for spreadsheets and your own tools.',
    footfall: (range) => `Footfall per zone, ${range.toLowerCase()}`,
    heatmap: 'Hour × weekday, last 4 weeks',
    flows: (range) => `Flows, ${range.toLowerCase()}`,
    events: 'All events',
    failed: 'The download failed. Try again.',
  },
  eventForm: {
    heading: 'Add an event or campaign',
    name: 'Name',
    zones: 'Zones',
    start: (timeZone) => `Start (local time, ${timeZone})`,
    end: (timeZone) => `End (local time, ${timeZone})`,
    submit: 'Add event',
    submitting: 'Adding…',
    added: (name) => `Event “${name}” added.`,
    refused: (message) => `The event was not saved: ${message}`,
    actions: 'Actions',
    delete: 'Delete',
    deleteLabel: (name) => `Delete event ${name}`,
    confirm: 'Confirm delete',
    confirmLabel: (name) => `Confirm: delete event ${name}`,
    cancel: 'Cancel',
    deleted: (name) => `Event “${name}” deleted.`,
    deleteFailed: (message) => `The event was not deleted: ${message}`,
  },
  shop: {
    heading: (name) => name,
    todayHeading: 'Today so far',
    todayNote: (weeks) =>
      `Compared with the same weekday of the previous ${weeks} weeks, up to the same time of day.`,
    usual: (value) => `usual ${value}`,
    rankHeading: 'Among the district’s shops',
    rank: (rank, shops) => `No. ${rank} of ${shops} by visitors today`,
    percentile: (pct) => `More visitors than ${pct} of the other shops`,
    rankNote: 'Other shops stay anonymous: only your position is shown.',
    dwellHeading: 'How long visitors stay (today)',
    dwellBins: {
      lt1m: '< 1 min',
      m1to5: '1–5 min',
      m5to15: '5–15 min',
      m15to60: '15–60 min',
      gt60m: '> 60 min',
    },
    dwellAxis: 'Visitors',
    dwellX: 'Time inside',
    busiestHeading: (weekday) => `Busiest hours on a ${weekday}`,
    busiestNote: 'Mean per hour over the last 4 weeks; the three busiest hours are outlined.',
    noHistory: 'No history for this weekday yet',
    busiestAxis: 'Mean per hour',
    busiest: 'Busiest hours',
    hourAxis: 'Hour of day',
    weekHeading: 'The last 7 days',
    weekAxis: 'Transits per day',
    dayAxis: 'Day',
    today: 'Today',
    downloads: 'Download your data (CSV)',
    downloadHourly: 'Hourly, last 7 days',
    downloadDaily: 'Daily, last 12 weeks',
    downloadFailed: 'The download failed. Try again.',
    liveHeading: 'Live',
    liveToday: (passers, visitors) => `Today: ${passers} passers-by, ${visitors} visitors`,
    forbidden:
      'This page belongs to another shop. Your key shows your own shop only: other shops’ figures are never shared.',
    goToMyShop: 'Go to my shop',
    notFound: (id) => `There is no shop “${id}” in this district.`,
    repeatNote:
      'Repeat visitors across days are not measured, by design: daily keys make yesterday’s devices unlinkable to today’s.',
    forecastHeading: 'The next 7 days',
    forecastNote:
      'Footfall (passers-by and visitors) by hour: the average of the same weekday and hour over the last four usable weeks (flagged days and events left out), with its 90 % interval once there are enough weeks to measure it.',
    forecastToday: 'Today so far',
    forecastEmpty: 'Not enough history for a forecast yet: it needs at least one past week.',
  },
  street: {
    heading: 'How busy is the street right now?',
    intro: (minutes) =>
      `Crowd levels from the people present over the last ${minutes} minutes (estimated). No personal data.`,
    levels: { quiet: 'Quiet', moderate: 'Moderate', busy: 'Busy' },
    disabled: 'The public street screen is not enabled on this server.',
    updatedAt: (time) => `Updated at ${time}`,
    noZones: 'No street zones to show.',
    signInLink: 'Sign in',
  },
  districtOnly: 'The district view is for analysts. Showing your shop instead.',
  errors: {
    unauthorised: 'This API key was not accepted. Check it and sign in again.',
    forbidden: 'Your key does not give access to this page.',
    notFound: 'This page does not exist.',
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
  skipToContent: 'Vai al contenuto',
  nav: {
    label: 'Viste',
    district: 'Distretto',
    myShop: 'Il mio negozio',
    shop: 'Negozi',
    street: 'Schermo in strada',
    chooseShop: 'Negozio',
  },
  signIn: {
    heading: 'Accedi',
    intro: 'Inserisci la chiave API ricevuta dall’amministratore del distretto.',
    apiKey: 'Chiave API',
    apiKeyHint:
      'La chiave resta solo in questa scheda del browser e viene dimenticata alla chiusura.',
    submit: 'Accedi',
    submitting: 'Accesso in corso…',
    missingKey: 'Inserisci una chiave API.',
    publicLink: 'Apri lo schermo pubblico della strada (senza chiave)',
  },
  signOut: 'Esci',
  signedInAs: (label, role) => `Accesso come ${label} (${role})`,
  roles: { admin: 'amministratore', analyst: 'analista', shopkeeper: 'negoziante' },
  chart: {
    loading: 'Caricamento…',
    empty: 'Ancora nessun transito in questo periodo',
    noData: 'Nessun dato',
  },
  outlook: {
    heading: 'Ultimi 3 giorni e prossimi 7',
    note: 'Previsione: la media dello stesso giorno e ora nelle ultime quattro settimane utili (esclusi i giorni segnalati e gli eventi), con l’intervallo al 90 %. Barre: contesto importato.',
    actual: 'Passaggi',
    forecast: 'Previsione',
    interval: 'Intervallo al 90 %',
    now: 'ora',
    yAxis: 'Transiti all’ora',
    context: (variable) => `${variable} (contesto)`,
    report: 'Rapporto mensile',
    reportNote:
      'Una pagina stampabile del mese: passaggi rispetto al mese prima e all’anno scorso, ore di punta, eventi, posizione e previsione del mese prossimo.',
    reportMonth: 'Mese',
    reportHtml: 'Pagina (HTML)',
    reportPdf: 'PDF',
    reportFailed: 'Non è stato possibile scaricare il rapporto. Riprova.',
  },
  context: {
    heading: 'Contesto e giorni segnalati',
    note: 'Importa il contesto (meteo, mercati, lavori) come CSV: ora, zona o distretto, variabile, valore. Segnala i giorni non normali: sono esclusi dai valori abituali, dalle fasce e dalle previsioni.',
    uploadHeading: 'Importa un file di contesto',
    file: 'File CSV',
    upload: 'Importa',
    uploading: 'Importazione…',
    noFile: 'Scegli prima un file CSV.',
    imported: (rows, variables) => `Importate ${rows} righe: ${variables}.`,
    refused: 'Il file è stato rifiutato e non è stato importato nulla:',
    flagHeading: 'Segnala un giorno',
    day: 'Giorno',
    zone: 'Zona',
    wholeDistrict: 'Tutto il distretto',
    reason: 'Motivo',
    flag: 'Segnala il giorno',
    flagged: (day) => `${day} è segnalato.`,
    flagRefused: (reason) => `Non segnalato: ${reason}`,
    listHeading: 'Giorni segnalati',
    none: 'Nessun giorno è segnalato.',
    unflag: 'Togli',
    unflagLabel: (day, zone) => `Togli la segnalazione di ${day} (${zone})`,
    unflagged: (day) => `${day} non è più segnalato.`,
  },

  live: {
    connecting: 'Connessione al flusso in diretta…',
    live: (time) => `In diretta · aggiornato alle ${time}`,
    waiting: 'In diretta · in attesa del primo aggiornamento',
    reconnecting: (seconds) => `Flusso in diretta perso · nuovo tentativo tra ${seconds} s`,
    unauthorised: 'Il flusso in diretta ha rifiutato questa chiave',
    stopped: 'Flusso in diretta spento',
    last15m: 'transiti negli ultimi 15 min (in diretta)',
  },
  footfall: {
    heading: 'Passaggi per zona',
    range: 'Periodo',
    ranges: { 'last-hour': 'Ultima ora', today: 'Oggi', 'last-7-days': 'Ultimi 7 giorni' },
    autoRefresh: 'Si aggiorna ogni minuto; la mappa è in diretta.',
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
  kpi: {
    passersBy: 'Passanti',
    visitors: 'Visitatori',
    captureRate: 'Tasso di ingresso',
    dwell: 'Permanenza media',
    people: 'Persone stimate',
    band: (low, high) => `intervallo 95 % ${low}–${high} (solo conteggio)`,
    thisHour: 'Quest’ora finora',
    usualFor: (weekday, hour, usual, range) =>
      `abituale di ${weekday} alle ${hour}: ${usual} (${range})`,
    vsLastWeek: 'rispetto alla settimana scorsa',
    vsUsual: 'rispetto al solito',
    noBaseline: 'ancora nessun confronto',
  },
  district: {
    heading: (name) => name,
    mapHeading: 'Mappa del Miglio',
    mapNote:
      'Zone colorate per transiti nel periodo scelto. Cifre in rosso: transiti negli ultimi 15 minuti, in diretta. Simboli: i gateway dove sono installati, e il loro stato.',
    footfallLegend: 'Transiti nel periodo',
    gateways: 'Gateway',
    north: 'Nord',
    health: {
      ok: 'OK',
      silent: 'Silenzioso',
      offline: 'Non in linea',
      unknown: 'Mai sentito',
      inactive: 'Inattivo',
    },
    seriesHeading: 'Passaggi nel tempo',
    period: 'Periodo',
    periods: { day: 'Ultime 24 ore', week: 'Ultimi 7 giorni' },
    compare: 'Confronta con',
    compareModes: { wow: 'La settimana prima', yoy: 'Stessa settimana dell’anno scorso' },
    current: { day: 'Ultime 24 ore', week: 'Ultimi 7 giorni' },
    baseline: {
      day: { wow: 'Stesse ore una settimana prima', yoy: 'Stesse ore 52 settimane prima' },
      week: { wow: 'I 7 giorni precedenti', yoy: 'Stessi giorni 52 settimane prima' },
    },
    seriesAxis: { day: 'Transiti ogni 15 min', week: 'Transiti all’ora' },
    usualRange: 'Intervallo abituale (stesso giorno e ora, ultime 8 settimane)',
    historyProgress: (done, total) => `storico: ${done} di ${total} settimane`,
    alertsHeading: 'Avvisi',
    alertsNone: 'Nessun avviso aperto',
    acknowledge: 'Presa visione',
    acknowledged: 'Visto',
    heatmapHeading: 'Ora × giorno della settimana, ultime 4 settimane',
    heatmapNote: 'Media dei transiti all’ora, tutte le zone. L’ora di punta è evidenziata.',
    heatmapValue: 'Media transiti all’ora',
    hourAxis: 'Ora del giorno',
    busiest: 'Ora di punta',
    shopsHeading: 'Tasso di ingresso e permanenza per negozio',
    shopsNote:
      'Tasso di ingresso = visitatori ÷ (visitatori + passanti) al gateway del negozio. Permanenza = tempo medio dentro dei visitatori.',
    captureRate: 'Tasso di ingresso',
    dwell: 'Permanenza media',
    noVisitors: 'nessun visitatore',
    flowsHeading: 'Flussi lungo la strada',
    noFlows: 'Ancora nessun flusso pubblicato per questo periodo',
    flowsNote:
      'Persone viste in una zona e più tardi, lo stesso giorno, in un’altra. Le coppie con meno dispositivi della soglia di privacy non sono pubblicate.',
    forward: 'Lungo il Miglio (→)',
    backward: 'Nel verso opposto (←)',
    suppressed: (k, cells) =>
      `${cells} ${cells === 1 ? 'coppia' : 'coppie'} sotto ${k} dispositivi: non pubblicate`,
    flow: (origin, dest) => `${origin} → ${dest}`,
    flowsUnit: 'flussi',
    travel: 'percorrenza mediana',
    eventsHeading: 'Eventi e il loro effetto',
    eventsNote:
      'Passaggi nelle zone dell’evento durante la sua finestra, rispetto allo stesso giorno e alle stesse ore delle 4 settimane precedenti.',
    noEvents: 'Nessun evento negli ultimi 90 giorni.',
    event: 'Evento',
    when: 'Quando',
    footfallDuring: 'Transiti',
    usual: 'Di solito',
    uplift: 'Effetto',
    spread: 'Intervallo abituale',
    status: { upcoming: 'in arrivo', running: 'in corso', finished: 'concluso' },
    notMeasured: 'non ancora misurato',
  },
  quality: {
    heading: 'Qualità dei dati',
    gatewaysOk: (ok, total) => `${ok} gateway su ${total} trasmettono`,
    gatewayProblems: 'Gateway da controllare',
    allOk: 'Tutti i gateway trasmettono.',
    gateway: 'Gateway',
    zone: 'Zona',
    health: 'Stato',
    lastHeard: 'Ultimo invio',
    never: 'mai',
    secondsAgo: (s) => `${s} s fa`,
    format: 'Formato',
    formats: {
      native: 'Miglio nativo',
      omg: 'OpenMQTTGateway / Theengs',
      espresense: 'ESPresense',
      sniffer: 'Sniffer ESP32 (probe)',
      meraki: 'Cisco Meraki',
      paxcounter: 'Paxcounter (conteggi di dispositivi)',
    },
    lastMessage: 'Ultimo messaggio',
    allGateways: (count) => `Tutti i gateway (${count}): formato e ultimo messaggio`,
    deadLetters: 'Messaggi rifiutati, ultime 24 ore',
    deadLetterRate: (rate, rejected, batches) =>
      `${rate} dei messaggi rifiutati (${rejected} su ${batches})`,
    deadLettersAdminOnly: 'I dati sui messaggi rifiutati sono visibili agli amministratori.',
    topReasons: 'Motivi più frequenti',
    latest: 'Ultimi messaggi rifiutati',
    time: 'Ricevuto',
    reason: 'Motivo',
    detail: 'Dettaglio',
    noDeadLetters: 'Nessun messaggio rifiutato. Tutti i messaggi sono stati accettati.',
    page: (page, pages, total) => `Pagina ${page} di ${pages} (${total} messaggi)`,
    newer: 'Più recenti',
    older: 'Meno recenti',
    pages: 'Pagine dei messaggi rifiutati',
  },
  deviceCounts: {
    heading: 'Conteggi di dispositivi — non pedoni',
    note: 'Contati dai gateway Paxcounter, che inviano solo quanti dispositivi Wi-Fi e BLE hanno rilevato a ogni invio. I dispositivi non sono persone: i telefoni cambiano indirizzo e una persona ne porta diversi o nessuno. Questi dati non entrano mai nei passaggi.',
    notice: 'Conteggi di dispositivi, non pedoni',
    wifi: 'Dispositivi Wi-Fi',
    ble: 'Dispositivi BLE',
    yAxis: 'Dispositivi per invio (media)',
    peak: 'massimo',
    empty: 'Ancora nessun conteggio di dispositivi in questo periodo',
    sources: 'Sorgenti di conteggio nel periodo (dispositivi, non pedoni)',
    gateway: 'Gateway',
    zone: 'Zona',
    reports: 'Invii',
    wifiMean: 'Dispositivi Wi-Fi (media)',
    bleMean: 'Dispositivi BLE (media)',
    table: 'Mostra come tabella: conteggi di dispositivi nel tempo',
    time: 'Ora',
  },
  people: {
    heading: 'Persone presenti e in arrivo (stima)',
    shopHeading: 'Persone dentro e davanti al negozio (stima)',
    note: 'Persone, non dispositivi: stimate dai dispositivi rilevati, ricongiungendo gli indirizzi che i telefoni cambiano e togliendo i dispositivi sempre accesi, poi convertite in persone con la calibrazione del gateway fatta con conteggi manuali. La fascia è l’intervallo al 90 %. Senza calibrazione ogni dispositivo conta come una persona e la fascia è ampia.',
    present: 'Persone presenti',
    interval: 'Intervallo al 90 %',
    arrivals: 'Persone in arrivo',
    yAxis: 'Persone (stima)',
    uncalibrated: 'Non calibrato: dispositivi contati come persone, con un intervallo ampio.',
    peak: 'massimo',
    empty: 'Ancora nessuna stima di persone in questo periodo',
    inside: 'Dentro',
    inFront: 'Davanti',
    table: 'Mostra come tabella: persone presenti e in arrivo nel tempo',
    time: 'Ora',
    presentLow: 'Presenti, minimo al 90 %',
    presentHigh: 'Presenti, massimo al 90 %',
    tooLong: 'Le stime di persone sono disponibili per periodi fino a 31 giorni.',
  },
  tables: {
    heatmap: 'Mostra come tabella: media transiti all’ora, giorno × ora',
    series: 'Mostra come tabella: passaggi nel tempo',
    shops: 'Mostra come tabella: tasso di ingresso e permanenza per negozio',
    flows: 'Mostra come tabella: flussi tra le zone',
    dwell: 'Mostra come tabella: visitatori per tempo di permanenza',
    busiest: 'Mostra come tabella: media all’ora',
    week: 'Mostra come tabella: gli ultimi 7 giorni',
    time: 'Ora',
    weekday: 'Giorno',
    hour: 'Ora',
    day: 'Giorno',
    shop: 'Negozio',
    origin: 'Da',
    destination: 'A',
    flowsCount: 'Flussi',
    medianWalk: 'Cammino mediano',
    withheld: 'non pubblicato (sotto la soglia di riservatezza)',
    forecast: 'Mostra come tabella: la previsione per giorno',
    forecastTotal: 'Transiti previsti',
    forecastPeak: 'Ora di punta',
  },
  downloads: {
    heading: 'Scarica i dati (CSV)',
    note: 'Gli stessi dati di questa pagina, per fogli di calcolo e altri strumenti.',
    footfall: (range) => `Passaggi per zona, ${range.toLowerCase()}`,
    heatmap: 'Ora × giorno, ultime 4 settimane',
    flows: (range) => `Flussi, ${range.toLowerCase()}`,
    events: 'Tutti gli eventi',
    failed: 'Il download non è riuscito. Riprova.',
  },
  eventForm: {
    heading: 'Aggiungi un evento o una campagna',
    name: 'Nome',
    zones: 'Zone',
    start: (timeZone) => `Inizio (ora locale, ${timeZone})`,
    end: (timeZone) => `Fine (ora locale, ${timeZone})`,
    submit: 'Aggiungi evento',
    submitting: 'Salvataggio…',
    added: (name) => `Evento “${name}” aggiunto.`,
    refused: (message) => `L’evento non è stato salvato: ${message}`,
    actions: 'Azioni',
    delete: 'Elimina',
    deleteLabel: (name) => `Elimina l’evento ${name}`,
    confirm: 'Conferma eliminazione',
    confirmLabel: (name) => `Conferma: elimina l’evento ${name}`,
    cancel: 'Annulla',
    deleted: (name) => `Evento “${name}” eliminato.`,
    deleteFailed: (message) => `L’evento non è stato eliminato: ${message}`,
  },
  shop: {
    heading: (name) => name,
    todayHeading: 'Oggi finora',
    todayNote: (weeks) =>
      `Confronto con lo stesso giorno delle ${weeks} settimane precedenti, fino alla stessa ora.`,
    usual: (value) => `di solito ${value}`,
    rankHeading: 'Tra i negozi del distretto',
    rank: (rank, shops) => `${rank}º su ${shops} per visitatori oggi`,
    percentile: (pct) => `Più visitatori del ${pct} degli altri negozi`,
    rankNote: 'Gli altri negozi restano anonimi: vedi solo la tua posizione.',
    dwellHeading: 'Quanto restano i visitatori (oggi)',
    dwellBins: {
      lt1m: '< 1 min',
      m1to5: '1–5 min',
      m5to15: '5–15 min',
      m15to60: '15–60 min',
      gt60m: '> 60 min',
    },
    dwellAxis: 'Visitatori',
    dwellX: 'Tempo dentro',
    busiestHeading: (weekday) => `Ore di punta di ${weekday}`,
    busiestNote:
      'Media all’ora nelle ultime 4 settimane; le tre ore più frequentate sono evidenziate.',
    noHistory: 'Ancora nessuno storico per questo giorno',
    busiestAxis: 'Media all’ora',
    busiest: 'Ore di punta',
    hourAxis: 'Ora del giorno',
    weekHeading: 'Gli ultimi 7 giorni',
    weekAxis: 'Transiti al giorno',
    dayAxis: 'Giorno',
    today: 'Oggi',
    downloads: 'Scarica i tuoi dati (CSV)',
    downloadHourly: 'Orari, ultimi 7 giorni',
    downloadDaily: 'Giornalieri, ultime 12 settimane',
    downloadFailed: 'Il download non è riuscito. Riprova.',
    liveHeading: 'In diretta',
    liveToday: (passers, visitors) => `Oggi: ${passers} passanti, ${visitors} visitatori`,
    forbidden:
      'Questa pagina è di un altro negozio. La tua chiave mostra solo il tuo negozio: i dati degli altri negozi non vengono mai condivisi.',
    goToMyShop: 'Vai al mio negozio',
    notFound: (id) => `Nel distretto non c’è un negozio «${id}».`,
    repeatNote:
      'I visitatori abituali tra giorni diversi non sono misurati, per scelta: le chiavi giornaliere rendono i dispositivi di ieri non collegabili a quelli di oggi.',
    forecastHeading: 'I prossimi 7 giorni',
    forecastNote:
      'Passaggi (passanti e visitatori) all’ora: la media dello stesso giorno e ora nelle ultime quattro settimane utili (esclusi i giorni segnalati e gli eventi), con l’intervallo al 90 % quando ci sono abbastanza settimane per misurarlo.',
    forecastToday: 'Oggi finora',
    forecastEmpty:
      'Storia ancora insufficiente per una previsione: serve almeno una settimana passata.',
  },
  street: {
    heading: 'Quanta gente c’è in strada adesso?',
    intro: (minutes) =>
      `Affollamento dalle persone presenti negli ultimi ${minutes} minuti (stima). Nessun dato personale.`,
    levels: { quiet: 'Tranquillo', moderate: 'Moderato', busy: 'Affollato' },
    disabled: 'Lo schermo pubblico della strada non è attivo su questo server.',
    updatedAt: (time) => `Aggiornato alle ${time}`,
    noZones: 'Nessuna zona di strada da mostrare.',
    signInLink: 'Accedi',
  },
  districtOnly: 'La vista del distretto è per gli analisti. Ecco il tuo negozio.',
  errors: {
    unauthorised: 'Questa chiave API non è stata accettata. Controllala e accedi di nuovo.',
    forbidden: 'La tua chiave non dà accesso a questa pagina.',
    notFound: 'Questa pagina non esiste.',
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
