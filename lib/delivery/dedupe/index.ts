import type { RelayConfig } from '../../config/schema';
import { DuplicateInProgress, describeError } from '../errors';
import type { DedupeResult, DedupeWarn, DeliveryDedupe, DeliveryKey } from './dedupe';
import type { PowertoolsDedupeOptions } from './powertools';

export type { DedupeWarn, DeliveryDedupe } from './dedupe';

/** The environment variable naming the DynamoDB table (serverless.yml sets it when some receiver has `dedupe`). */

/** Receivers with replay protection, in file order. */
export function dedupeReceivers(config: RelayConfig): string[] {
  return Object.entries(config.receivers)
    .filter(([, r]) => r.dedupe)
    .map(([name]) => name);
}

export interface DedupeOptions {
  config: RelayConfig;
  /** The table name; usually `RELAY_DEDUPE_TABLE` (lib/runtime/env.ts). */
  tableName: string | undefined;
  warn: DedupeWarn;
  /** For tests: replaces the DynamoDB client the Powertools layer would build from the environment. */
  client?: PowertoolsDedupeOptions['client'];
}

/**
 * The relay's DeliveryDedupe, or undefined when no receiver asks for one (the relay then never calls it). Without a
 * table name (a deployment built without the table, a local run) the receivers that ask for dedupe apply every
 * delivery, and the first such delivery of each container logs a warning saying so.
 */
export function createDeliveryDedupe(options: DedupeOptions): DeliveryDedupe | undefined {
  const receivers = dedupeReceivers(options.config);
  if (receivers.length === 0) return undefined;
  const tableName = options.tableName?.trim();
  if (!tableName) return new UnconfiguredDedupe(options.warn, receivers);
  return new LazyPowertoolsDedupe({
    tableName,
    // How long an applying invocation blocks its own redelivery: the delivery budget bounds the cluster work, and 2 s
    // more cover the retry queue, the record's update and the answer. With the default budget (8 s) that is the
    // function's 10 s timeout (serverless.yml), after which the invocation is dead anyway.
    inProgressMs: options.config.limits.deliveryBudgetMs + 2000,
    warn: options.warn,
    inProgress: (deliveryId) => new DuplicateInProgress(deliveryId),
    ...(options.client ? { client: options.client } : {}),
  });
}

/**
 * Loads lib/delivery/dedupe/powertools.ts on the first delivery that needs it. That module brings @aws-sdk/client-dynamodb
 * (76 KB minified), Powertools Idempotency and its JMESPath (44 KB); esbuild keeps a dynamically imported module in
 * the bundle but wraps it, so nothing of it is evaluated before that first delivery, and a relay whose receivers have
 * no dedupe never evaluates it at all. scripts/build.mjs puts it in a chunk of its own (dedupe.js), so such a relay
 * does not even parse it (docs/decisions.md, "Lazy chunks").
 */
class LazyPowertoolsDedupe implements DeliveryDedupe {
  private loaded: Promise<DeliveryDedupe> | undefined;

  constructor(private readonly options: PowertoolsDedupeOptions) {}

  async once<T>(
    delivery: DeliveryKey,
    apply: () => Promise<T>,
    remember: (result: T) => boolean,
  ): Promise<DedupeResult<T>> {
    let dedupe: DeliveryDedupe;
    try {
      this.loaded ??= import('./powertools').then((m) => new m.PowertoolsDeliveryDedupe(this.options));
      dedupe = await this.loaded;
    } catch (error) {
      // Fail open, as for an unreachable table (lib/delivery/dedupe/powertools.ts says why); the next delivery tries again.
      this.loaded = undefined;
      this.options.warn('replay protection could not be loaded; the delivery is applied without it', {
        receiver: delivery.receiver,
        ...(delivery.id !== undefined ? { delivery_id: delivery.id } : {}),
        error: describeError(error),
      });
      return { duplicate: false, result: await apply() };
    }
    return dedupe.once(delivery, apply, remember);
  }
}

/** Receivers ask for dedupe but no table is configured: apply everything, and say so once per container. */
class UnconfiguredDedupe implements DeliveryDedupe {
  private warned = false;

  constructor(
    private readonly warn: DedupeWarn,
    private readonly receivers: string[],
  ) {}

  async once<T>(_delivery: DeliveryKey, apply: () => Promise<T>): Promise<DedupeResult<T>> {
    if (!this.warned) {
      this.warned = true;
      this.warn(`RELAY_DEDUPE_TABLE is not set; receivers with dedupe apply every delivery`, {
        receivers: this.receivers,
      });
    }
    return { duplicate: false, result: await apply() };
  }
}
