'use strict';
/**
 * The stack's CloudWatch side: alarms, saved Logs Insights queries on the relay's log group, and a dashboard.
 * resources.cjs merges them with the roles into `resources.Resources`.
 *
 * The metrics are the functions' own, published as EMF by Powertools Metrics (lib/observability/metrics.ts) in the
 * namespace POWERTOOLS_METRICS_NAMESPACE, each with Powertools' default dimension `service` (POWERTOOLS_SERVICE_NAME)
 * plus its own. The namespace and the services are read from the functions' environment in serverless.yml, so they
 * cannot drift from what the functions publish with. The dimension sets, exactly:
 *
 *   Deliveries                                 service, provider, outcome
 *   SignatureRejections, Patches,
 *   PatchFailures, DeliveryDuration            service, provider
 *   SyncActions                                service, provider, action     (service of the sync function)
 *   SyncFailures                               service, provider
 *
 * The registryEvents function (with an `ecr` section) publishes the relay's delivery metrics under its own service,
 * with provider `ecr`; its alarms read Deliveries with outcome `failed` and its AWS/Lambda Errors.
 *
 * A CloudWatch alarm matches a metric by all its dimensions and cannot use SEARCH, so an alarm "over all providers"
 * reads one metric per provider of the configuration (the receivers' for the relay, the registrations' for the sync)
 * and alarms on their sum: `FILL(m0, 0) + FILL(m1, 0) + ...` (FILL because `+` of a value and a missing value is
 * missing). The dashboard uses the same lists, since its graphs should agree with the alarms.
 *
 * Every alarm looks at 5-minute sums, one period, and treats missing data as not breaching (no traffic is fine).
 * `--param alarmTopicArn=<SNS topic ARN>` makes them notify that topic on ALARM and on OK; without it they only
 * change state (console, dashboard, `aws cloudwatch describe-alarms --state-value ALARM`).
 */
const { relayContext, syncDeployed, registryEventsDeployed, RelayDeployError } = require('./relay-config.cjs');
const { deployParams } = require('./deploy-params.cjs');

const period = 300;
/** CloudWatch: a metric math alarm reads at most 10 metrics. */
const maxAlarmMetrics = 10;
const outcomes = ['patched', 'queued', 'no_match', 'ignored', 'pong', 'duplicate', 'failed', 'rejected'];
const syncActions = ['create', 'update', 'reenable', 'delete'];
/** lib/observability/metrics.ts's `provider` for a delivery rejected before its receiver was known (404, 405). */
const unknownProvider = 'none';
/** osls's logical ids of the functions and the relay's log group. */
const relayFunction = 'RelayLambdaFunction';
const retryFunction = 'RetryLambdaFunction';
const deadLetterQueue = 'RetryDeadLetterQueue';
const syncFunction = 'SyncLambdaFunction';
const registryEventsFunction = 'RegistryEventsLambdaFunction';
/** The `provider` of ECR events' metrics (lib/registry-events/handle.ts ecrReceiver). */
const ecrProvider = 'ecr';
const relayLogGroup = 'RelayLogGroup';

/** The `provider` values the relay publishes: its receivers' providers, in file order, once each. */
function relayProviders(config) {
  return [...new Set(Object.values(config.receivers).map((r) => r.provider))];
}

/** The `provider` values the sync publishes: its registrations' providers. */
function syncProviders(config) {
  return [...new Set(Object.values(config.sync?.registrations ?? {}).map((r) => r.provider))];
}

const dimensionList = (dimensions) => Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value }));

/**
 * The alarm's Metrics: one MetricStat per provider (not returned) and their sum (returned). `dimensions(provider)`
 * gives a metric's full dimension set.
 */
function sumOverProviders({ namespace, metricName, providers, dimensions, label }) {
  if (providers.length === 0) throw new RelayDeployError(`no provider to alarm on ${metricName} for`);
  if (providers.length > maxAlarmMetrics) {
    throw new RelayDeployError(
      `the ${metricName} alarm would read ${providers.length} metrics (one per provider: ${providers.join(', ')}); CloudWatch allows ${maxAlarmMetrics} per alarm`,
    );
  }
  const metrics = providers.map((provider, i) => ({
    Id: `m${i}`,
    Label: provider,
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensionList(dimensions(provider)) },
      Period: period,
      Stat: 'Sum',
    },
    ReturnData: false,
  }));
  return [
    ...metrics,
    { Id: 'total', Label: label, Expression: providers.map((_, i) => `FILL(m${i}, 0)`).join(' + '), ReturnData: true },
  ];
}

function alarm(context, { name, description, threshold, comparison, metric }) {
  const actions = context.alarmTopicArn
    ? { AlarmActions: [context.alarmTopicArn], OKActions: [context.alarmTopicArn] }
    : {};
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${context.prefix}-${name}`,
      AlarmDescription: description,
      ...metric,
      EvaluationPeriods: 1,
      Threshold: threshold,
      ComparisonOperator: comparison,
      TreatMissingData: 'notBreaching',
      ...actions,
    },
  };
}

/** A Lambda function's own AWS/Lambda metric (Errors: unhandled exceptions, timeouts, init failures). */
function lambdaMetric(functionLogicalId, metricName) {
  return {
    Namespace: 'AWS/Lambda',
    MetricName: metricName,
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId } }],
    Statistic: 'Sum',
    Period: period,
  };
}

/**
 * The alarms, by logical id. `context`: `{ prefix, namespace, relayService, syncService, alarmTopicArn,
 * signatureRejectionThreshold }`.
 */
function alarms(config, context) {
  const { namespace, relayService, syncService } = context;
  const providers = relayProviders(config);
  const result = {
    RelayErrorsAlarm: alarm(context, {
      name: 'relay-errors',
      description:
        'The relay function failed (unhandled error, timeout or a configuration that does not load) at least once in 5 minutes. Its log group has the error.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: lambdaMetric(relayFunction, 'Errors'),
    }),
    RelayFailedDeliveriesAlarm: alarm(context, {
      name: 'relay-failed-deliveries',
      description:
        'At least one delivery in 5 minutes was answered 502: a matched target or a cluster could not be patched (outcome failed). Saved query "failed targets" names them with the reason.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: {
        Metrics: sumOverProviders({
          namespace,
          metricName: 'Deliveries',
          providers,
          dimensions: (provider) => ({ service: relayService, provider, outcome: 'failed' }),
          label: 'failed deliveries',
        }),
      },
    }),
    SignatureRejectionsAlarm: alarm(context, {
      name: 'signature-rejections',
      description: `At least ${context.signatureRejectionThreshold} deliveries in 5 minutes were refused with 401 (signature or token missing or wrong): a rotated secret not updated on one side, or someone probing the webhook URL. Saved query "rejections by reason" shows which receiver.`,
      threshold: context.signatureRejectionThreshold,
      comparison: 'GreaterThanOrEqualToThreshold',
      metric: {
        Metrics: sumOverProviders({
          namespace,
          metricName: 'SignatureRejections',
          providers,
          dimensions: (provider) => ({ service: relayService, provider }),
          label: 'signature rejections',
        }),
      },
    }),
    RetryDeadLettersAlarm: alarm(context, {
      name: 'retry-dead-letters',
      description:
        'The retry dead-letter queue holds at least one cluster job: a patch the relay queued could not be applied within its retries, failed for good (403, 404, a receiver or cluster no longer configured) or was not a job. The retry function\'s log line (message "retry", outcome dead_letter) and the message\'s `reason` attribute say why. Fix the cause, then redrive: aws sqs start-message-move-task --source-arn <RetryDeadLetterQueueArn output>.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      // The queue's own AWS/SQS metric (published every minute while the queue holds messages): Maximum over the
      // period, so one message left for a moment still counts.
      metric: {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueue, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: period,
      },
    }),
    RetryErrorsAlarm: alarm(context, {
      name: 'retry-errors',
      description:
        "The retry function failed as a whole (unhandled error, timeout or a configuration that does not load): its batch comes back after the queue's visibility timeout. Its log group has the error.",
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: lambdaMetric(retryFunction, 'Errors'),
    }),
  };
  if (registryEventsDeployed(config)) {
    result.RegistryEventsErrorsAlarm = alarm(context, {
      name: 'registry-events-errors',
      description:
        'The registryEvents function (ECR pushes from EventBridge) failed as a whole (unhandled error, timeout or a configuration that does not load); Lambda retries the event twice, then drops it. Its log group has the error.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: lambdaMetric(registryEventsFunction, 'Errors'),
    });
    result.RegistryEventsFailedAlarm = alarm(context, {
      name: 'registry-events-failed',
      description:
        'At least one ECR push in 5 minutes could not be applied: a matched target or a cluster could not be patched, nor queued for retry (outcome failed). The registryEvents function\'s "delivery" log line names them with the reason.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: {
        Namespace: namespace,
        MetricName: 'Deliveries',
        Dimensions: dimensionList({ service: context.registryEventsService, provider: ecrProvider, outcome: 'failed' }),
        Statistic: 'Sum',
        Period: period,
      },
    });
  }
  if (syncDeployed(config)) {
    result.SyncFailuresAlarm = alarm(context, {
      name: 'sync-failures',
      description:
        'A sync run could not create, update, re-enable or delete at least one webhook. The run\'s "sync run" log line lists each failure with its reason.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: {
        Metrics: sumOverProviders({
          namespace,
          metricName: 'SyncFailures',
          providers: syncProviders(config),
          dimensions: (provider) => ({ service: syncService, provider }),
          label: 'sync failures',
        }),
      },
    });
    result.SyncErrorsAlarm = alarm(context, {
      name: 'sync-errors',
      description:
        'The sync function failed (unhandled error, timeout or a configuration that does not load). Its log group has the error.',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      metric: lambdaMetric(syncFunction, 'Errors'),
    });
  }
  return result;
}

/**
 * Saved Logs Insights queries on the relay's log group. Powertools Logger writes each line as plain JSON, so
 * Logs Insights discovers its keys as fields: `message` is the log message ("delivery" for the one line per delivery,
 * lib/observability/delivery-log.ts), the summary's keys are top-level fields. JSON arrays are flattened to `failed.0.target`, ...,
 * so "failed targets" reparses the line with jsonParse and unnests `failed` into one row per target.
 */
const queryTexts = {
  PatchedNothingQuery: {
    name: 'deliveries that patched nothing',
    lines: [
      'filter message = "delivery" and outcome in ["no_match", "ignored"]',
      'fields @timestamp, receiver, provider, event, repository, ref, outcome, reason',
      'sort @timestamp desc',
      'limit 200',
    ],
  },
  FailedTargetsQuery: {
    name: 'failed targets',
    lines: [
      'filter message = "delivery" and outcome = "failed"',
      'fields jsonParse(@message) as delivery',
      'unnest delivery.failed into failure',
      'sort @timestamp desc',
      'limit 200',
      'display @timestamp, receiver, repository, ref, commit, failure.target, failure.error, delivery_id',
    ],
  },
  RejectionsByReasonQuery: {
    name: 'rejections by reason',
    // `reason` is "<code>: <detail>" (lib/delivery/relay.ts); counting by the code keeps one row per kind and receiver.
    lines: [
      'filter message = "delivery" and outcome = "rejected"',
      'parse reason /^(?<rejection>[a-z_]+)/',
      'stats count(*) as deliveries, latest(reason) as example by rejection, receiver, status',
      'sort deliveries desc',
    ],
  },
  SlowestDeliveriesQuery: {
    name: 'slowest deliveries',
    lines: [
      'filter message = "delivery"',
      'fields @timestamp, duration_ms, receiver, provider, repository, ref, outcome, status, delivery_id',
      'sort duration_ms desc',
      'limit 50',
    ],
  },
};

/** The query definitions, named `<service>-<stage>/<what>` (the console shows `<service>-<stage>` as a folder). */
function queryDefinitions(prefix) {
  return Object.fromEntries(
    Object.entries(queryTexts).map(([id, { name, lines }]) => [
      id,
      {
        Type: 'AWS::Logs::QueryDefinition',
        Properties: {
          Name: `${prefix}/${name}`,
          QueryString: lines.join('\n| '),
          LogGroupNames: [{ Ref: relayLogGroup }],
        },
      },
    ]),
  );
}

/** A dashboard graph (CloudWatch dashboard body structure, "metric" widget). */
function graph(title, x, y, metrics, extra = {}) {
  return {
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: {
      title,
      region: '${AWS::Region}',
      view: 'timeSeries',
      stacked: false,
      period,
      stat: 'Sum',
      metrics,
      ...extra,
    },
  };
}

/**
 * Dashboard lines summing one metric over providers: hidden per-provider metrics and one visible expression.
 * `tag` keeps the ids of several sums in one graph apart.
 */
function summedLines({ namespace, metricName, providers, dimensions, label, tag }) {
  const hidden = providers.map((provider, i) => [
    namespace,
    metricName,
    ...Object.entries(dimensions(provider)).flat(),
    { id: `${tag}${i}`, visible: false },
  ]);
  return [...hidden, [{ expression: providers.map((_, i) => `FILL(${tag}${i}, 0)`).join(' + '), label, id: `${tag}` }]];
}

function dashboardBody(config, { namespace, relayService, syncService, signatureRejectionThreshold }) {
  const providers = relayProviders(config);
  const widgets = [
    graph(
      'Deliveries by outcome (all providers)',
      0,
      0,
      outcomes.flatMap((outcome, o) =>
        summedLines({
          namespace,
          metricName: 'Deliveries',
          providers: [...providers, unknownProvider],
          dimensions: (provider) => ({ service: relayService, provider, outcome }),
          label: outcome,
          tag: `d${o}x`,
        }),
      ),
    ),
    graph(
      'Signature rejections (401)',
      12,
      0,
      [
        ...providers.map((provider) => [
          namespace,
          'SignatureRejections',
          'service',
          relayService,
          'provider',
          provider,
          { label: provider },
        ]),
        ...summedLines({
          namespace,
          metricName: 'SignatureRejections',
          providers,
          dimensions: (provider) => ({ service: relayService, provider }),
          label: 'all providers',
          tag: 'r',
        }),
      ],
      { annotations: { horizontal: [{ label: 'alarm (all providers, 5 min)', value: signatureRejectionThreshold }] } },
    ),
    graph('Objects patched and patch failures', 0, 6, [
      ...summedLines({
        namespace,
        metricName: 'Patches',
        providers,
        dimensions: (provider) => ({ service: relayService, provider }),
        label: 'patched',
        tag: 'p',
      }),
      ...summedLines({
        namespace,
        metricName: 'PatchFailures',
        providers,
        dimensions: (provider) => ({ service: relayService, provider }),
        label: 'failed',
        tag: 'f',
      }),
    ]),
    graph(
      'Delivery duration (ms)',
      12,
      6,
      providers.flatMap((provider) =>
        ['p50', 'p99'].map((stat) => [
          namespace,
          'DeliveryDuration',
          'service',
          relayService,
          'provider',
          provider,
          { stat, label: `${provider} ${stat}` },
        ]),
      ),
      { yAxis: { left: { label: 'ms', showUnits: false } } },
    ),
  ];
  if (syncDeployed(config)) {
    const sync = syncProviders(config);
    widgets.push(
      graph('Sync: webhook changes and failures (all providers)', 0, 12, [
        ...syncActions.flatMap((action, a) =>
          summedLines({
            namespace,
            metricName: 'SyncActions',
            providers: sync,
            dimensions: (provider) => ({ service: syncService, provider, action }),
            label: action,
            tag: `a${a}x`,
          }),
        ),
        ...summedLines({
          namespace,
          metricName: 'SyncFailures',
          providers: sync,
          dimensions: (provider) => ({ service: syncService, provider }),
          label: 'failures',
          tag: 'sf',
        }),
      ]),
    );
  }
  return { widgets };
}

/** The dashboard resource: its body is JSON, with the stack's region filled in by Fn::Sub. */
function dashboard(config, context) {
  return {
    RelayDashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        // Dashboard names: letters, digits, - and _.
        DashboardName: context.prefix.replace(/[^A-Za-z0-9_-]/g, '-'),
        DashboardBody: { 'Fn::Sub': JSON.stringify(dashboardBody(config, context)) },
      },
    },
  };
}

/** Every monitoring resource for a parsed configuration and a context (see `alarms`). */
function monitoringResources(config, context) {
  return { ...alarms(config, context), ...queryDefinitions(context.prefix), ...dashboard(config, context) };
}

/** The context from serverless.yml: service, stage, the functions' Powertools environment, and the params. */
async function monitoringContext(resolver) {
  const get = (path) => resolver.resolveConfigurationProperty(path);
  const [service, stage, relayEnv, syncEnv, registryEventsEnv, params] = await Promise.all([
    get(['service']),
    get(['provider', 'stage']),
    get(['functions', 'relay', 'environment']),
    get(['custom', 'syncFunction', 'environment']),
    get(['custom', 'registryEventsFunction', 'environment']),
    deployParams(resolver, ['alarmTopicArn', 'signatureRejectionThreshold']),
  ]);
  const namespace = relayEnv?.POWERTOOLS_METRICS_NAMESPACE;
  const publishers = [relayEnv, syncEnv, registryEventsEnv];
  if (!namespace || publishers.some((env) => env?.POWERTOOLS_METRICS_NAMESPACE !== namespace)) {
    throw new RelayDeployError(
      'the relay, sync and registryEvents functions need the same POWERTOOLS_METRICS_NAMESPACE in their environment (serverless.yml): the alarms read that namespace',
    );
  }
  if (publishers.some((env) => !env.POWERTOOLS_SERVICE_NAME)) {
    throw new RelayDeployError(
      "the relay, sync and registryEvents functions need POWERTOOLS_SERVICE_NAME in their environment (serverless.yml): it is the metrics' service dimension",
    );
  }
  return {
    prefix: `${typeof service === 'string' ? service : service.name}-${stage}`,
    namespace,
    relayService: relayEnv.POWERTOOLS_SERVICE_NAME,
    syncService: syncEnv.POWERTOOLS_SERVICE_NAME,
    registryEventsService: registryEventsEnv.POWERTOOLS_SERVICE_NAME,
    alarmTopicArn: params.alarmTopicArn,
    signatureRejectionThreshold: params.signatureRejectionThreshold,
  };
}

module.exports = {
  relayProviders,
  syncProviders,
  alarms,
  queryDefinitions,
  dashboardBody,
  monitoringResources,
  monitoringContext,
  monitoring: async (resolver) =>
    monitoringResources((await relayContext(resolver)).config, await monitoringContext(resolver)),
};
