/**
 * The few calls of the MLflow REST API 2.0 model registry that a promotion makes, typed after
 * MLflow's `model_registry.proto` (`ModelRegistryService`). MLflow publishes no JavaScript client
 * (its clients are Python, Java and R), so this is the one place mlplane speaks MLflow's REST API
 * itself: JSON over HTTP, request fields named as in the proto, errors as MLflow returns them
 * (`{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": …}`).
 *
 * @see https://mlflow.org/docs/latest/rest-api.html
 * @see https://github.com/mlflow/mlflow/blob/master/mlflow/protos/model_registry.proto
 */

/** `ModelVersionTag` / `RegisteredModelTag`. */
export interface MlflowTag {
  readonly key: string;
  readonly value: string;
}

/** `ModelVersion` (the fields a promotion reads). */
export interface MlflowModelVersion {
  readonly name: string;
  readonly version: string;
  readonly source?: string;
  readonly run_id?: string;
  readonly description?: string;
  readonly status?: 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';
  readonly status_message?: string;
  readonly tags?: readonly MlflowTag[];
  readonly aliases?: readonly string[];
}

/** An MLflow error response. */
export class MlflowError extends Error {
  constructor(
    public readonly status: number,
    public readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'MlflowError';
  }
}

/** A model registry reached at an MLflow tracking server URL (`http://<internal ALB>`). */
export class MlflowRegistry {
  private readonly base: string;

  constructor(
    url: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = `${url.replace(/\/+$/, '')}/api/2.0/mlflow`;
  }

  /** `GetModelVersionByAlias`; undefined when the model or the alias does not exist. */
  public async versionByAlias(name: string, alias: string): Promise<MlflowModelVersion | undefined> {
    return this.maybe(async () => (await this.call<{ model_version: MlflowModelVersion }>('GET', '/registered-models/alias', { name, alias })).model_version);
  }

  /** `GetModelVersion`; undefined when it does not exist. */
  public async version(name: string, version: string): Promise<MlflowModelVersion | undefined> {
    return this.maybe(async () => (await this.call<{ model_version: MlflowModelVersion }>('GET', '/model-versions/get', { name, version })).model_version);
  }

  /** Whether the registered model exists (`GetRegisteredModel`). */
  public async hasModel(name: string): Promise<boolean> {
    return (await this.maybe(async () => this.call('GET', '/registered-models/get', { name }))) !== undefined;
  }

  /** Every version of `name` (`SearchModelVersions` with `name='<name>'`, all pages). */
  public async versions(name: string): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let token: string | undefined;
    do {
      const page = await this.call<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>('GET', '/model-versions/search', {
        filter: `name='${name.replace(/'/g, "\\'")}'`,
        max_results: '1000',
        ...(token ? { page_token: token } : {}),
      });
      out.push(...(page.model_versions ?? []));
      token = page.next_page_token || undefined;
    } while (token);
    return out;
  }

  /** `CreateRegisteredModel`. */
  public async createModel(name: string, description: string): Promise<void> {
    await this.call('POST', '/registered-models/create', { name, description });
  }

  /** `CreateModelVersion`; returns the new version. */
  public async createVersion(body: { readonly name: string; readonly source: string; readonly description: string; readonly tags: readonly MlflowTag[] }): Promise<MlflowModelVersion> {
    return (await this.call<{ model_version: MlflowModelVersion }>('POST', '/model-versions/create', body)).model_version;
  }

  /** `SetRegisteredModelAlias` (moves the alias when another version holds it). */
  public async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', '/registered-models/alias', { name, alias, version });
  }

  private async maybe<T>(f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof MlflowError && e.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw e;
    }
  }

  private async call<T = unknown>(method: 'GET' | 'POST', path: string, params: Readonly<Record<string, unknown>>): Promise<T> {
    const url = new URL(`${this.base}${path}`);
    if (method === 'GET') for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
        ...(method === 'POST' ? { body: JSON.stringify(params) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new Error(`cannot reach the MLflow registry at ${this.base} (${(e as Error).message}); it is reachable only from inside the stage's VPC: run mlplane promote where it can reach both stages' MLflow servers`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new MlflowError(response.status, 'INVALID_RESPONSE', `MLflow ${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (!response.ok) {
      const err = body as { error_code?: string; message?: string };
      throw new MlflowError(response.status, err.error_code ?? `HTTP_${response.status}`, `MLflow ${method} ${path}: ${err.error_code ?? response.status}: ${err.message ?? text.slice(0, 200)}`);
    }
    return body as T;
  }
}

/** Tags as a map. */
export function tagMap(tags: readonly MlflowTag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key, t.value]));
}
