import {
  renderStackedColumns,
  type Column,
  type StackedColumnsOptions,
} from '../../charts/stacked-columns.ts'
import type { Messages } from '../../i18n.ts'
import { columnsTable, drawChartAndTable } from '../chart-tables.ts'

/**
 * Passers-by and visitors stacked per column with their table: the shop's busiest hours and its
 * week share this drawing.
 */
export function drawColumns(
  body: HTMLElement,
  m: Messages,
  columns: Column[] | null,
  chart: Omit<StackedColumnsOptions, 'locale' | 'labels'> & {
    highlight: string[]
    labels: Omit<StackedColumnsOptions['labels'], 'loading' | 'passersBy' | 'visitors'>
  },
  table: Parameters<typeof columnsTable>[2] & { label?: (column: Column) => string },
): void {
  const { highlight, labels, ...options } = chart
  const data = columns ? { columns, highlight } : null
  const { label, ...tableOptions } = table
  drawChartAndTable(
    body,
    (container) =>
      renderStackedColumns(container, data, {
        ...options,
        locale: m.locale,
        labels: {
          loading: m.chart.loading,
          passersBy: m.footfall.passersBy,
          visitors: m.footfall.visitors,
          ...labels,
        },
      }),
    columns?.some((c) => c.passersBy + c.visitors > 0)
      ? columnsTable(
          label ? columns.map((c) => ({ ...c, label: label(c) })) : columns,
          m,
          tableOptions,
        )
      : null,
  )
}
