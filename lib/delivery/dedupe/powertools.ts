/**
 * DeliveryDedupe on Powertools Idempotency with its DynamoDB persistence layer
 * (https://docs.aws.amazon.com/powertools/typescript/latest/features/idempotency/). Loaded only through
 * lib/delivery/dedupe/index.ts's lazy import: it pulls in @aws-sdk/client-dynamodb, which a relay without dedupe never needs.
 *
 * What Powertools does for one delivery (read in node_modules/@aws-lambda-powertools/idempotency 2.35.0, lib/esm):
 * - IdempotencyHandler.handle: PutItem of an INPROGRESS record under the condition "no item, or its `expiration` has
 *   passed, or it is INPROGRESS and its `in_progress_expiration` has passed" (DynamoDBPersistenceLayer._putRecord);
 *   if that condition fails, the existing record decides: COMPLETED returns the stored response without calling the
 *   function (a duplicate), INPROGRESS throws IdempotencyAlreadyInProgressError.
 * - The function's result is stored with UpdateItem as COMPLETED (saveSuccess); if the function throws, the record is
 *   deleted with DeleteItem and the error rethrown (IdempotencyHandler.getFunctionResult). Hence the IAM actions
 *   GetItem/PutItem/UpdateItem/DeleteItem (infra/serverless/dedupe.cjs).
 * - Expiry is read from `Date.now()` everywhere (BasePersistenceLayer.getExpiryTimestamp, the PutItem condition's
 *   `:now`, IdempotencyRecord.isExpired), so an expired record counts as absent whether or not DynamoDB's TTL has
 *   deleted it yet: TTL deletes "within a few days" of the expiry, not at it
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
 * - The record's id is `<keyPrefix>#<hash of the JSON of the payload>`: here the payload is one of dedupeKeys'
 *   `receiver#id#<delivery id>` and `receiver#body#<body sha256>`.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../errors';
import {
  dedupeKeys,
  deliveryLabel,
  type DedupeResult,
  type DedupeWarn,
  type DeliveryDedupe,
  type DeliveryKey,
} from './dedupe';

export interface PowertoolsDedupeOptions {
  tableName: string;
  /**
   * How long an INPROGRESS record blocks the same delivery (id or body). After that a redelivery may apply again: the first
   * invocation is then taken to have died (Lambda timeout, crash) without deleting its record.
   */
  inProgressMs: number;
  warn: DedupeWarn;
  /**
   * The error for a delivery another invocation is applying right now: lib/delivery/errors.ts's DuplicateInProgress, passed in
   * by the module that imports this one, so that the relay's `instanceof RelayError` sees the class it knows even
   * where this module is loaded into another module registry than the relay's (jest.isolateModules).
   */
  inProgress: (deliveryId: string) => Error;
  /** Tests pass a client; by default one is built from the environment (region, AWS_ENDPOINT_URL_DYNAMODB). */
  client?: DynamoDBClient;
}

/** What the record keeps of a delivery that was applied: enough for the duplicate's answer, nothing from the payload. */
interface StoredDelivery {
  firstSeen: string;
}

/** Thrown out of the idempotent function to make Powertools delete the record of a result that must not be remembered. */
class NotRemembered extends Error {}

type Progress<T> = { state: 'idle' } | { state: 'returned'; result: T } | { state: 'threw'; error: unknown };

const keyPrefix = 'delivery';

export class PowertoolsDeliveryDedupe implements DeliveryDedupe {
  private readonly client: DynamoDBClient;
  private readonly byWindow = new Map<number, { store: DynamoDBPersistenceLayer; config: IdempotencyConfig }>();

  constructor(private readonly options: PowertoolsDedupeOptions) {
    this.client =
      options.client ??
      new DynamoDBClient({
        // Bounded, like the Secrets Manager client (lib/runtime/relay-deps.ts): the record is written before the delivery is
        // applied and updated after, both inside the provider's 10 s. DynamoDB answers in milliseconds; an endpoint
        // that does not (an outage, a VPC without a route to DynamoDB) costs at most ~1.1 s per call before the
        // delivery is applied without protection.
        maxAttempts: 2,
        requestHandler: { connectionTimeout: 300, requestTimeout: 500 },
      });
  }

  /**
   * One record per key (lib/delivery/dedupe/dedupe.ts dedupeKeys), nested: the id's record around the body's, so a delivery
   * is applied only if neither was remembered, and both are remembered (or both forgotten) with its outcome. A
   * duplicate by the inner key leaves the outer one remembered as well, which is right: it names the same delivery.
   */
  async once<T>(
    delivery: DeliveryKey,
    apply: () => Promise<T>,
    remember: (result: T) => boolean,
  ): Promise<DedupeResult<T>> {
    const unprotected = (): Promise<DedupeResult<T>> => apply().then((result) => ({ duplicate: false, result }));
    const run = (keys: readonly string[]): Promise<DedupeResult<T>> => {
      const [key, ...inner] = keys;
      if (key === undefined) return unprotected();
      // A store that failed for the outer key is not asked again for the inner one: one warning and one timeout per
      // delivery, not one per key.
      return this.onceFor(
        key,
        delivery,
        () => run(inner),
        (r) => r.duplicate || remember(r.result),
        unprotected,
      ).then((r) => (r.duplicate ? r : r.result));
    };
    return run(dedupeKeys(delivery));
  }

  /**
   * One key's record around `apply`, or `failOpen` when the store cannot be reached; `delivery` only names the window
   * and what warnings and errors say.
   */
  private async onceFor<T>(
    key: string,
    delivery: DeliveryKey,
    apply: () => Promise<T>,
    remember: (result: T) => boolean,
    failOpen: () => Promise<T>,
  ): Promise<DedupeResult<T>> {
    // Asserted, not inferred: the closure below changes it, which TypeScript's narrowing does not see.
    let progress = { state: 'idle' } as Progress<T>;
    const applyOnce = async (_key: string): Promise<StoredDelivery> => {
      const firstSeen = new Date().toISOString();
      try {
        const result = await apply();
        progress = { state: 'returned', result };
      } catch (error) {
        progress = { state: 'threw', error };
        throw error;
      }
      // Throwing is the one way to make Powertools forget: it deletes the INPROGRESS record when the function throws
      // (IdempotencyHandler.getFunctionResult) and otherwise stores the result as COMPLETED. The result itself is
      // kept in `progress`, so it survives whatever Powertools does with the error.
      if (!remember(progress.result)) throw new NotRemembered();
      return { firstSeen };
    };
    const { store, config } = this.forWindow(delivery.windowSeconds);
    let stored: StoredDelivery | undefined;
    try {
      stored = await makeIdempotent(applyOnce, { persistenceStore: store, config, keyPrefix })(key);
    } catch (error) {
      if (progress.state === 'threw') throw progress.error;
      if (progress.state === 'returned') {
        // Applied, but the outcome could not be stored (UpdateItem or DeleteItem failed): the record stays INPROGRESS
        // and expires after `inProgressMs`, when a redelivery is applied again.
        if (!(error instanceof NotRemembered))
          this.warnUnavailable(delivery, 'the outcome of the delivery could not be recorded', error);
        return { duplicate: false, result: progress.result };
      }
      if (error instanceof IdempotencyAlreadyInProgressError) throw this.options.inProgress(deliveryLabel(delivery));
      // Fail open. Deploys matter more than replay protection here: a push whose webhook is dropped is not deployed
      // until Flux's next poll, while a replayed delivery costs one extra reconcile at most, since the patch only
      // sets `reconcile.fluxcd.io/requestedAt` (idempotent in effect). And only authenticated deliveries get here.
      this.warnUnavailable(delivery, 'replay protection is unavailable; the delivery is applied without it', error);
      return { duplicate: false, result: await failOpen() };
    }
    if (progress.state === 'returned') return { duplicate: false, result: progress.result };
    return { duplicate: true, ...(typeof stored?.firstSeen === 'string' ? { firstSeen: stored.firstSeen } : {}) };
  }

  /**
   * One persistence layer per window, built on first use and sharing one client: a layer takes its settings
   * (expiresAfterSeconds among them) from the first IdempotencyConfig it sees and ignores later ones
   * (BasePersistenceLayer.configure: "Prevent reconfiguration"), so one layer cannot serve two windows.
   */
  private forWindow(windowSeconds: number): { store: DynamoDBPersistenceLayer; config: IdempotencyConfig } {
    let entry = this.byWindow.get(windowSeconds);
    if (!entry) {
      entry = {
        store: new DynamoDBPersistenceLayer({ tableName: this.options.tableName, awsSdkV3Client: this.client }),
        config: new IdempotencyConfig({
          expiresAfterSeconds: windowSeconds,
          hashFunction: 'sha256',
          lambdaContext: inProgressBudget(this.options.inProgressMs),
        }),
      };
      this.byWindow.set(windowSeconds, entry);
    }
    return entry;
  }

  private warnUnavailable(delivery: DeliveryKey, message: string, error: unknown): void {
    this.options.warn(message, {
      receiver: delivery.receiver,
      ...(delivery.id !== undefined ? { delivery_id: delivery.id } : {}),
      error: describeError(causeOf(error)),
    });
  }
}

/**
 * The "Lambda context" the INPROGRESS record's expiry is computed from. Powertools reads exactly one thing of it:
 * `getRemainingTimeInMillis()`, once per delivery, and sets `in_progress_expiration = Date.now() + remaining`
 * (IdempotencyHandler's saveInProgress call, BasePersistenceLayer.saveInProgress); without it the record has no such
 * expiry and a crashed invocation would block redeliveries for the whole window. The relay core sees no Lambda
 * context, but it knows the delivery's budget, which bounds how long applying can take; a fixed value also avoids
 * registerLambdaContext's mutation of a config that concurrent deliveries share. The cast is the one place this
 * partial object meets the `Context` type; nothing but that method is ever read.
 */
function inProgressBudget(ms: number): LambdaContext {
  const remaining: Pick<LambdaContext, 'getRemainingTimeInMillis'> = { getRemainingTimeInMillis: () => ms };
  return remaining as LambdaContext;
}

/** The Lambda context type as Powertools' own option names it, so the core imports no Lambda event types. */
type LambdaContext = NonNullable<ConstructorParameters<typeof IdempotencyConfig>[0]['lambdaContext']>;

/** Powertools wraps store failures in IdempotencyPersistenceLayerError with the SDK's error as `cause`. */
function causeOf(error: unknown): unknown {
  return error instanceof Error && error.cause !== undefined ? error.cause : error;
}
