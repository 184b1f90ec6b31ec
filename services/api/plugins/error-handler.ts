import type { FastifyError, FastifyInstance } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { AppError } from '../../shared/errors.ts'
import { redactMacs } from '../../shared/contracts/mac.ts'
import { redactUrl } from './request-log.ts'

const CODE_BY_STATUS: Record<number, string> = {
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

/** Every error leaves as `{ error: { code, message } }`; 5xx bodies never carry the real message. */
export function installErrorHandler(app: FastifyInstance): void {
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
    const status = (err as FastifyError).statusCode ?? 500
    if (status < 500) {
      const code = CODE_BY_STATUS[status] ?? 'bad_request'
      return reply.code(status).send({ error: { code, message: redactMacs(err.message) } })
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
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      },
    })
  })
}
