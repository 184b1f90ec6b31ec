import { parseMerakiInternalTopic, TOPIC_ROOT } from '../../shared/contracts/topics.ts'
import { parseOmgTopic } from '../adapters/omg.ts'
import type { ForeignSources } from './foreign-sources.ts'

/** Which decoder a message goes to, by its (unprefixed) topic. */
export type Route =
  | { format: 'native' }
  | { format: 'meraki'; networkId: string }
  | { format: 'espresense' | 'omg' | 'sniffer' | 'paxcounter' }

/**
 * Routes a topic to its format. The district's declarations are unambiguous (validated by
 * contracts/district.ts), so the first match wins: native, the internal Meraki topic, ESPresense's
 * fixed root, a declared sniffer topic, a declared Paxcounter out-topic, an OpenMQTTGateway topic
 * under a declared base. Null for anything else (an `unknown_topic`). Pure.
 */
export function routeTopic(topic: string, sources: ForeignSources): Route | null {
  if (topic.startsWith(`${TOPIC_ROOT}/`)) return { format: 'native' }
  const meraki = parseMerakiInternalTopic(topic)
  if (meraki) return { format: 'meraki', networkId: meraki.networkId }
  if (topic.startsWith('miglio/')) return null
  if (topic.startsWith('espresense/')) return { format: 'espresense' }
  if (sources.snifferTopic(topic)) return { format: 'sniffer' }
  const levels = topic.split('/')
  if (levels.length <= 2 && sources.isPaxcounter(levels[0] ?? '')) return { format: 'paxcounter' }
  const omg = parseOmgTopic(topic)
  if (omg?.source.format === 'omg' && sources.isOmgBase(omg.source.baseTopic))
    return { format: 'omg' }
  return null
}
