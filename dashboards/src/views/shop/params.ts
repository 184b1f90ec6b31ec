import type { ShopSummary } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import type { PanelState, Params } from '../panel.ts'

/** What a shop page's panels load for. */
export interface ShopParams {
  shopId: string
  /** The reader may switch to another shop (analysts and administrators). */
  chooser: boolean
}

export type ShopState<D, U = object> = PanelState<ShopParams, D, U>

/**
 * The shop's summary, asked first and alone by every panel: it answers 403/404 for a shop the key
 * may not see, and then no other request about that shop is sent. Panels share one answer.
 */
export function shopSummary(api: ApiClient, params: Params<ShopParams>): Promise<ShopSummary> {
  return api.shopSummary(params.shopId)
}
