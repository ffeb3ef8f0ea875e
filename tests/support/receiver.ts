import type { ProviderName, ReceiverConfig } from '../../lib/config/schema';
import { parseSecretRef } from '../../lib/secrets/ref';

/** A receiver as the validated configuration hands it to providers, for unit tests of one provider. */
export function receiverConfig(provider: ProviderName, extra: Partial<ReceiverConfig> = {}): ReceiverConfig {
  return { provider, secret: parseSecretRef('env:UNUSED'), targets: [], ...extra };
}
