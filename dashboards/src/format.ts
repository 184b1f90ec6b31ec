export function createCountFormat(locale: string): (value: number) => string {
  const format = new Intl.NumberFormat(locale, { maximumFractionDigits: 0, useGrouping: 'always' })
  return (value) => format.format(value)
}
