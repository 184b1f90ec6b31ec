import type {
  FootfallBucket,
  FootfallDetailResponse,
  ShopSummary,
} from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { localMidnight } from '../../ranges.ts'
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

/** The shop's footfall from local midnight `daysBack` days ago until now, once its summary allows. */
export async function shopFootfall(
  api: ApiClient,
  params: Params<ShopParams>,
  range: { daysBack: number; bucket: FootfallBucket },
): Promise<FootfallDetailResponse> {
  await shopSummary(api, params)
  return api.footfallDetail({
    from: localMidnight(params.now, params.timeZone, range.daysBack).toISOString(),
    to: params.now.toISOString(),
    bucket: range.bucket,
    shop: params.shopId,
  })
}
