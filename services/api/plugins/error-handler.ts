import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { AppError } from '../../shared/errors.ts'
import { redactMacs } from '../../shared/contracts/mac.ts'
import { redactUrl } from './request-log.ts'
import { errorCodeOf, SECURITY_HEADERS, shortMessage } from '../lib/http-errors.ts'
import type { OutageLog } from '../lib/database-outage.ts'
import { isDatabaseUnavailable } from '../../shared/db/database-errors.ts'

/** Retry-After of a 503 while the database is unreachable. */
export const DATABASE_RETRY_AFTER_S = 5

const pathOf = (url: string) => url.split('?')[0] ?? ''

/**
 * Every error leaves as `{ error: { code, message } }` with the code of its status; 5xx bodies
 * never carry the real message. A database that cannot be reached is a 503
 * `database_unavailable` with Retry-After, logged once per interval by `outage`, not a stack per
 * request.
 */
export function installErrorHandler(app: FastifyInstance, outage: OutageLog): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation
        .slice(0, 3)
        .map(
          (v) =>
            `${err.validationContext ?? 'request'}${v.instancePath.replaceAll('/', '.')}: ${v.message ?? 'invalid'}`,
        )
      return reply
        .code(400)
        .send({ error: { code: 'bad_request', message: redactMacs(first.join('; ')) } })
    }
    if (err instanceof AppError && err.statusCode && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } })
    }
    if (isDatabaseUnavailable(err)) {
      outage.report(err, `${request.method} ${pathOf(redactUrl(request.url))}`)
      return reply
        .code(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_S))
        .send({
          error: {
            code: 'database_unavailable',
            message: `the database cannot be reached; retry in ${DATABASE_RETRY_AFTER_S} s`,
          },
        })
    }
    const status = (err as FastifyError).statusCode ?? 500
    if (status < 500) {
      return reply.code(status).send({
        error: { code: errorCodeOf(status), message: shortMessage(redactMacs(err.message)) },
      })
    }
    request.log.error(
      { err, method: request.method, url: redactUrl(request.url), params: request.params },
      'request failed',
    )
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } })
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: {
        code: 'not_found',
        message: shortMessage(
          `no route ${request.method} ${redactMacs(redactUrl(pathOf(request.url)))}`,
        ),
      },
    })
  })
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing (a URL that is not valid
 * percent-encoding, a path parameter over the length limit), answered in the API's shape with the
 * security headers.
 */
export function frameworkErrors(
  err: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : (err.statusCode ?? 400)
  const message =
    err.code === 'FST_ERR_BAD_URL'
      ? 'the URL is not valid percent-encoding'
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'a path segment is too long'
        : status >= 500
          ? 'internal error'
          : shortMessage(err.message)
  void reply
    .code(status)
    .headers(SECURITY_HEADERS)
    .send({ error: { code: errorCodeOf(status), message } })
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any request exists (a
 * method HTTP does not know, a header block over the limit, a garbled request line, a request
 * that took too long), answered in the API's shape with the security headers, then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : err.code === 'HPE_URI_TOO_LONG'
          ? 414
          : 400
  const message =
    status === 431
      ? 'the request headers are too large'
      : status === 408
        ? 'the request took too long'
        : status === 414
          ? 'the URL is too long'
          : 'the request is not valid HTTP/1.1'
  const body = JSON.stringify({ error: { code: errorCodeOf(status), message } })
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...SECURITY_HEADERS,
  }
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n${body}`,
    )
  }
  socket.destroy(err)
}
