import { pino, type Logger } from 'pino'
import { redactMacs } from './contracts/mac.ts'

export type { Logger }

export type LogOptions = {
  level: string
  name?: string
  /** Where lines go; defaults to stdout. Tests pass a stream to capture them. */
  destination?: NodeJS.WritableStream
}

/**
 * JSON logger whose every line passes through the MAC redactor: a raw MAC never reaches a log,
 * whatever a caller interpolates into a message or an error. Random (v4) UUIDs — key and request
 * ids — stay whole; callers redact what a gateway sent strictly (`redactMacs(text)`) before logging it.
 */
export function createLogger(options: LogOptions): Logger {
  const out = options.destination ?? process.stdout
  const stream = {
    write(line: string) {
      out.write(redactMacs(line, { keepUuids: true }))
    },
  }
  return pino({ level: options.level, ...(options.name ? { name: options.name } : {}) }, stream)
}
