/**
 * Test support: an SVG element as indented markup, one element per line, so a golden file diff
 * points at the element that changed.
 */
export function formatMarkup(node: Element, depth = 0): string {
  const indent = '  '.repeat(depth)
  const attributes = [...node.attributes].map((attr) => ` ${attr.name}="${escapeXml(attr.value)}"`)
  const open = `${indent}<${node.tagName}${attributes.join('')}`
  const elements = [...node.children]
  if (elements.length === 0) {
    const text = node.textContent ?? ''
    return text === '' ? `${open}/>` : `${open}>${escapeXml(text)}</${node.tagName}>`
  }
  const inner = [...node.childNodes]
    .map((child) =>
      child.nodeType === 1
        ? formatMarkup(child as Element, depth + 1)
        : (child.textContent ?? '').trim() === ''
          ? ''
          : `${indent}  ${escapeXml(child.textContent ?? '')}`,
    )
    .filter((line) => line !== '')
    .join('\n')
  return `${open}>\n${inner}\n${indent}</${node.tagName}>`
}

export function goldenOf(svg: SVGSVGElement): string {
  return `${formatMarkup(svg)}\n`
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}

/** A small seeded PRNG (mulberry32) for fixture data. */
export { seededRandom } from '../../../services/shared/contracts/seeded-random.ts'

/** Numbers of a path's `d` attribute. */
export function pathNumbers(d: string | null | undefined): number[] {
  return (d ?? '').match(/-?\d+(\.\d+)?/g)?.map(Number) ?? []
}
