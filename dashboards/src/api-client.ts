import type { z } from 'zod'
import {
  ErrorBodySchema,
  FootfallResponseSchema,
  MeResponseSchema,
  ZonesResponseSchema,
  type FootfallBucket,
  type FootfallResponse,
  type MeResponse,
  type ZonesResponse,
} from '../../services/shared/contracts/api.ts'

export type ApiErrorCode = 'unauthorised' | 'bad_response' | 'http_error' | 'network_error'

export class ApiError extends Error {
  readonly code: ApiErrorCode
  readonly status: number | undefined

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'ApiError'
    this.code = code
    this.status = options.status
  }
}

export interface FootfallRequest {
  from: string
  to: string
  bucket: FootfallBucket
}

export interface ApiClient {
  me(): Promise<MeResponse>
  zones(): Promise<ZonesResponse>
  footfall(request: FootfallRequest): Promise<FootfallResponse>
}

export interface ApiClientDeps {
  baseUrl: string
  getKey: () => string | null
  fetch: typeof globalThis.fetch
}

export function createApiClient({ baseUrl, getKey, fetch }: ApiClientDeps): ApiClient {
  const root = baseUrl.replace(/\/+$/, '')

  async function getJson<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    const key = getKey()
    const headers: Record<string, string> = { Accept: 'application/json' }
    if (key) headers.Authorization = `Bearer ${key}`

    let response: Response
    let text: string
    try {
      response = await fetch(`${root}${path}`, { headers })
      text = await response.text()
    } catch (error) {
      throw new ApiError('network_error', `GET ${path} failed`, { cause: error })
    }

    const body = parseJson(text)
    if (!response.ok) {
      const parsedError = ErrorBodySchema.safeParse(body)
      const message = parsedError.success ? parsedError.data.error.message : response.statusText
      const code = response.status === 401 ? 'unauthorised' : 'http_error'
      throw new ApiError(code, message, { status: response.status })
    }

    const parsed = schema.safeParse(body)
    if (!parsed.success) {
      throw new ApiError('bad_response', `GET ${path}: unexpected body`, {
        status: response.status,
        cause: parsed.error,
      })
    }
    return parsed.data
  }

  return {
    me: () => getJson('/api/v1/me', MeResponseSchema),
    zones: () => getJson('/api/v1/zones', ZonesResponseSchema),
    footfall: ({ from, to, bucket }) =>
      getJson(
        `/api/v1/footfall?${new URLSearchParams({ from, to, bucket })}`,
        FootfallResponseSchema,
      ),
  }
}

// A body that is not JSON is reported by the schema check as bad_response, like any other bad shape.
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
