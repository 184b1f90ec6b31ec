import { h } from '../dom.ts'
import type { PanelActions, PanelState } from './panel.ts'

/** A CSV file a downloads panel offers. */
export interface DownloadFile {
  /** `data-csv` of its button. */
  kind: string
  label: string
  /** The saved file's name. */
  name: string
  /** The tabular endpoint under `/api/v1/`. */
  path: string
  params: Record<string, string>
}

export interface DownloadsUi {
  error: string | null
}

export const downloadsUi: DownloadsUi = { error: null }

/**
 * A downloads panel's body (the district's and a shop's): a button per file that fetches it as CSV
 * (the key travels in a header, never in a link) and saves it; a failure is said under the buttons.
 */
export function renderDownloads<P>(
  body: HTMLElement,
  { doc, ui, act }: PanelState<P, unknown, DownloadsUi>,
  files: readonly DownloadFile[],
  failed: string,
): void {
  body.replaceChildren(
    h(
      doc,
      'div',
      { class: 'downloads' },
      files.map((file) => {
        const button = h(
          doc,
          'button',
          { type: 'button', class: 'button-secondary download', 'data-csv': file.kind },
          [h(doc, 'span', { 'aria-hidden': 'true' }, ['⤓ ']), file.label],
        )
        button.addEventListener('click', () => void download(act, file, failed))
        return button
      }),
    ),
    h(doc, 'p', { class: 'error', role: 'alert' }, [ui.error ?? '']),
  )
}

async function download<P>(
  act: PanelActions<P, unknown, DownloadsUi>,
  file: DownloadFile,
  failed: string,
): Promise<void> {
  try {
    const text = await act.api.csv(file.path, file.params)
    act.setUi({ error: null })
    act.saveFile(file.name, text, 'text/csv')
  } catch (error) {
    if (act.signedOut(error)) return
    act.setUi({ error: failed })
  }
}
