/**
 * What every provider's hook API client shares beyond the HTTP core: its ApiClient made from the run's options, and the
 * per-target wrapper that names the provider and target in every failure. Each provider module holds only what
 * differs (paths, bodies, quirks); name and path checks for owner/repo providers are in ./paths.ts.
 */
import type { HookApiOptions } from '../hook-api';
import { ApiClient, type ApiClientOptions, ApiError, BudgetExhausted } from '../http';

/** The ApiClient of one provider's hook API: the options every provider passes on, plus its own headers. */
export function hookApiClient(
  options: HookApiOptions,
  headers: Record<string, string>,
  extra: Pick<ApiClientOptions, 'writeSpacingMs' | 'secrets' | 'budget'> = {},
): ApiClient {
  return new ApiClient({
    baseUrl: options.apiUrl,
    headers,
    deadline: options.deadline,
    fetch: options.fetch,
    now: options.now,
    sleep: options.sleep,
    allowHttpLoopback: options.allowHttpLoopback,
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    ...(options.budget ? { budget: options.budget } : {}),
    ...extra,
    secrets: [options.token, ...(extra.secrets ?? [])],
  });
}

/**
 * The error of one provider call, renamed for the run's report: its message starts with `label` (provider and target).
 * ApiError and BudgetExhausted keep their class and status, so callers can still tell a 404 from a 401 or an exhausted
 * budget. Secrets are already gone: the ApiClient scrubs every error it raises (see `ApiClientOptions.secrets`).
 */
export function errorForTarget(label: string, error: unknown): Error {
  const message = `${label}: ${error instanceof Error ? error.message : String(error)}`;
  if (error instanceof ApiError || error instanceof BudgetExhausted) {
    error.message = message;
    return error;
  }
  return new Error(message);
}

/**
 * Runs one provider call for a target, its failure renamed by `errorForTarget`: the wrapper every provider client
 * puts around its calls.
 */
export async function forTarget<T>(label: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw errorForTarget(label, error);
  }
}
