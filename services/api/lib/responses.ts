import { ErrorBodySchema } from '../../shared/contracts/api.ts'

/** Error answers of an authenticated route, for the OpenAPI document (and checked on the way out). */
export const AUTH_ERRORS = {
  400: ErrorBodySchema.describe('Bad request: a parameter is invalid (the message names it)'),
  401: ErrorBodySchema.describe('No key, or an unknown or revoked key'),
  403: ErrorBodySchema.describe('The role or the shop does not allow this'),
  429: ErrorBodySchema.describe('Rate limited; see Retry-After'),
} as const

export const NOT_FOUND = {
  404: ErrorBodySchema.describe('An id names nothing (the message names it)'),
}
