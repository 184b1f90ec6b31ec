import type { FastifyInstance } from 'fastify'
import type { OpenAPIV3_1 } from 'openapi-types'

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

function esc(s: unknown): string {
  return String(s ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}

function schemaType(s: unknown): string {
  const o = (s ?? {}) as { type?: unknown; enum?: unknown[]; format?: string; default?: unknown }
  let t = Array.isArray(o.type) ? o.type.join(' | ') : String(o.type ?? 'any')
  if (o.enum) t = o.enum.map(String).join(' | ')
  if (o.format) t += ` (${o.format})`
  if (o.default !== undefined) t += `, default ${JSON.stringify(o.default)}`
  return t
}

/** A page listing every operation of the document; no script, so the strict CSP holds. */
export function renderDocsPage(doc: OpenAPIV3_1.Document): string {
  const sections: string[] = []
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item?.[m]
      if (!op) continue
      const params = (op.parameters ?? []) as OpenAPIV3_1.ParameterObject[]
      const paramRows = params
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td>${esc(schemaType(p.schema))}</td></tr>`,
        )
        .join('')
      const body = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined
      const bodySchema = body?.content?.['application/json']?.schema as
        { properties?: Record<string, unknown>; required?: string[] } | undefined
      const bodyRows = Object.entries(bodySchema?.properties ?? {})
        .map(
          ([name, s]) =>
            `<tr><td><code>${esc(name)}</code></td><td>body</td><td>${bodySchema?.required?.includes(name) ? 'yes' : 'no'}</td><td>${esc(schemaType(s))}</td></tr>`,
        )
        .join('')
      const rows = paramRows + bodyRows
      sections.push(
        `<section id="${esc(`${m}-${path}`)}"><h2><code>${m.toUpperCase()} ${esc(path)}</code></h2>` +
          `<p>${esc(op.summary)}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}` +
          `<p>Tags: ${esc((op.tags ?? []).join(', '))}. Responses: ${esc(Object.keys(op.responses ?? {}).join(', '))}.</p>` +
          (rows
            ? `<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>type</th></tr></thead><tbody>${rows}</tbody></table>`
            : '') +
          '</section>',
      )
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${esc(doc.info.title)} ${esc(doc.info.version)}</h1>
<p>${esc(doc.info.description)}</p>
<p>The machine-readable document: <a href="/docs/openapi.json">/docs/openapi.json</a>.</p>
${sections.join('\n')}
</main></body></html>
`
}

/** `/docs` (HTML) and `/docs/openapi.json`, public. */
export default async function docsRoutes(app: FastifyInstance) {
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => {
    reply.type('text/html; charset=utf-8')
    return renderDocsPage(app.swagger() as OpenAPIV3_1.Document)
  })
}
