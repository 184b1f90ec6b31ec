export type ErrorCode =
  | 'config_invalid'
  | 'data_dir_locked'
  | 'data_dir_unwritable'
  | 'port_in_use'
  | 'embedded_db_failed'
  | 'district_invalid'
  | 'district_not_loaded'
  | 'migration_failed'
  | 'bad_request'
  | 'unauthorised'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'internal'

export class AppError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options?: { statusCode?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.statusCode = options?.statusCode
  }
}
