import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/** A URL with anything key-shaped in it replaced: keys never reach a log line, even when misplaced. */
export function redactUrl(url: string): string {
  return url
    .replace(/mgl_[A-Za-z0-9_-]+/g, 'mgl_[redacted]')
    .replace(
      /([?&](?:key|api_key|apikey|token|access_token|authorization)=)[^&#]*/gi,
      '$1[redacted]',
    )
}

/** Fastify's request log lines with the URL redacted and without headers. */
export class RedactingLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.info(
      { req: { method: request.method, url: redactUrl(request.url) } },
      'incoming request',
    )
  }

  override requestCompleted(
    error: Error | null | undefined,
    _request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = { res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...fields, err: error }, 'request errored')
    else reply.log.info(fields, 'request completed')
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    const fields = {
      req: { method: request.method, url: redactUrl(request.url) },
      res: { statusCode: reply.statusCode },
      err: error,
    }
    if (reply.statusCode >= 500) reply.log.error(fields, error.message)
    else reply.log.info(fields, error.message)
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info(`Route ${request.method}:${redactUrl(request.url)} not found`)
  }
}
