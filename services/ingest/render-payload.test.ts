import { describe, expect, it } from 'vitest'
import { renderPayload } from './render-payload.ts'

const MAC = '7e:fd:7a:e4:31:66'
const RAW = Buffer.from([0x7e, 0xfd, 0x7a, 0xe4, 0x31, 0x66])
const X = 'xx:xx:xx:xx:xx:xx'

/** Every way the tests know of writing MAC as text, and its raw bytes. */
function leaks(rendered: string): string[] {
  const found: string[] = []
  const digits = rendered.toLowerCase().replace(/[^0-9a-f]/g, '')
  if (digits.includes('7efd7ae43166')) found.push('hex digits')
  if (Buffer.from(rendered, 'utf8').includes(RAW)) found.push('raw bytes')
  if (rendered.includes('\u0000')) found.push('NUL')
  return found
}

describe(renderPayload.name, () => {
  it('writes JSON back with every string and key redacted, whatever its escapes', () => {
    const payload = Buffer.from(
      `{"mac":"${MAC}","escaped":"7\\u0065:fd:7a:e4:31:66","mixed":"7e:fd-7a:e4:31:66",` +
        `"${MAC}":1,"nul":"7e\\u0000:fd:7a:e4:31:66","list":["7EFD7AE43166"],"n":3}`,
    )
    const rendered = renderPayload(payload)
    expect(JSON.parse(rendered)).toEqual({
      mac: X,
      escaped: X,
      mixed: X,
      [X]: 1,
      nul: X,
      list: [X],
      n: 3,
    })
    expect(leaks(rendered)).toEqual([])
  })

  it('redacts malformed JSON as text, escapes decoded', () => {
    const rendered = renderPayload(Buffer.from(`{"mac":"7\\u0065:fd:7a:e4:31:66",`))
    expect(rendered).toBe(`{"mac":"${X}",`)
  })

  it.each([
    [
      'UTF-16LE with a byte-order mark',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`{"mac":"${MAC}"}`, 'utf16le')]),
    ],
    ['UTF-16LE without one', Buffer.from(`{"mac":"${MAC}"}`, 'utf16le')],
    [
      'UTF-16BE with a byte-order mark',
      Buffer.concat([
        Buffer.from([0xfe, 0xff]),
        Buffer.from(`{"mac":"${MAC}"}`, 'utf16le').swap16(),
      ]),
    ],
    ['UTF-16BE without one', Buffer.from(`mac ${MAC} seen`, 'utf16le').swap16()],
  ])('decodes %s before redacting', (_what, payload) => {
    const rendered = renderPayload(payload)
    expect(rendered).toContain(X)
    expect(leaks(rendered)).toEqual([])
  })

  it('hides a UTF-16 MAC inside UTF-8 text', () => {
    const payload = Buffer.concat([
      Buffer.from('{"v":1,"gatewayId":"gw-1","note":"'),
      Buffer.from(MAC, 'utf16le'),
      Buffer.from('"}'),
    ])
    expect(leaks(renderPayload(payload))).toEqual([])
  })

  it('never shows a binary payload, where a MAC may be six raw bytes', () => {
    const payload = Buffer.concat([Buffer.from([0x00, 0x01, 0xc3]), RAW, Buffer.from([0xff, 0x10])])
    const rendered = renderPayload(payload)
    expect(rendered).toBe('(binary payload of 11 bytes: not shown)')
  })

  it('redacts before cutting, so no partial MAC survives the cut', () => {
    const payload = Buffer.from(`${'a'.repeat(20)} ${MAC} tail`)
    const rendered = renderPayload(payload, 30)
    expect(rendered).toHaveLength(30)
    expect(rendered).not.toMatch(/7e:fd/)
    expect(rendered).toBe(`${'a'.repeat(20)} xx:xx:xx:`)
  })

  it('keeps ordinary text readable', () => {
    expect(renderPayload(Buffer.from('not json at all, seq 1842'))).toBe(
      'not json at all, seq 1842',
    )
    expect(renderPayload(Buffer.alloc(0))).toBe('')
  })
})
