/**
 * Feature set specifications: the azure adapter writes `featuresets/<name>/<version>/FeaturesetSpec.yaml`
 * and points the feature set version at `azureml://datastores/<datastore>/paths/<folder>/` of the
 * feature store; the deployer puts the file there (blob data plane) before ARM creates the version.
 */
import { createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { DeployError } from '../../deploy';
import type { TemplateEntry, TemplateIndex } from './template';
import type { AzureClients } from './transport';

/** One specification to upload. */
export interface SpecUpload {
  /** Document path in the synthesized output. */
  readonly document: string;
  readonly content: string;
  /** Resource group, workspace (the feature store) and datastore that hold it. */
  readonly workspace: string;
  readonly datastore: string;
  /** Folder inside the datastore, ending with `/`. */
  readonly folder: string;
  /** The feature set version that reads it. */
  readonly entry: TemplateEntry;
  readonly path: string;
}

const DOC = /^featuresets\/([^/]+)\/([^/]+)\/FeaturesetSpec\.yaml$/;
const SPEC_URI = /^azureml:\/\/datastores\/([^/]+)\/paths\/(.*)$/;

/**
 * The uploads the documents call for.
 *
 * @throws DeployError when a specification has no feature set version in the template, or the version's path is not a datastore path.
 */
export function specUploads(documents: Readonly<Record<string, unknown>>, index: TemplateIndex, environmentPath: string): SpecUpload[] {
  const out: SpecUpload[] = [];
  for (const [document, content] of Object.entries(documents)) {
    const m = DOC.exec(document);
    if (!m) continue;
    const suffix = `/featuresets/${m[1] as string}/versions/${m[2] as string}`.toLowerCase();
    const entry = [...index.entries.values()].find((e) => e.id.toLowerCase().endsWith(suffix) && e.type.toLowerCase() === 'microsoft.machinelearningservices/workspaces/featuresets/versions');
    if (!entry) throw new DeployError(`${document} has no feature set version ${m[1] as string}:${m[2] as string} in template.json; synthesize again`, environmentPath);
    const props = entry.properties as { specification?: { path?: unknown } } | undefined;
    const uri = props?.specification?.path;
    const u = typeof uri === 'string' ? SPEC_URI.exec(uri) : null;
    if (!u || typeof content !== 'string') throw new DeployError(`feature set version ${m[1] as string}:${m[2] as string} reads its specification from ${JSON.stringify(uri)}, not an azureml://datastores/<name>/paths/<folder> path mlplane can upload to`, index.pathOf(entry.id));
    const ws = entry.id.split('/')[8] as string;
    out.push({ document, content, workspace: ws, datastore: u[1] as string, folder: (u[2] as string).replace(/\/?$/, '/'), entry, path: index.pathOf(entry.id) });
  }
  return out;
}

/** Outcome of one upload. */
export type UploadResult = 'uploaded' | 'unchanged' | 'no-datastore';

async function send(clients: AzureClients, method: 'GET' | 'PUT', url: string, body?: string): Promise<{ status: number; text: string }> {
  const req = createPipelineRequest({ url, method, body });
  req.headers.set('x-ms-version', '2023-11-03');
  if (method === 'PUT') {
    req.headers.set('x-ms-blob-type', 'BlockBlob');
    req.headers.set('content-type', 'application/x-yaml');
  }
  const res = await clients.blob.pipeline.sendRequest(clients.blob.httpClient, req);
  const text = res.bodyAsText ?? '';
  if (res.status >= 400 && res.status !== 404) throw new RestError(`blob ${method} ${url.split('?')[0] ?? ''}: HTTP ${res.status}`, { statusCode: res.status, request: req, response: res });
  return { status: res.status, text };
}

/**
 * Upload one specification unless the datastore already holds the same bytes.
 *
 * `no-datastore`: the feature store does not exist yet (first deploy), so there is nowhere to upload.
 */
export async function uploadSpec(clients: AzureClients, resourceGroup: string, u: SpecUpload): Promise<UploadResult> {
  let ds: Record<string, unknown>;
  try {
    ds = (await clients.ml.datastores.get(resourceGroup, u.workspace, u.datastore)).properties as unknown as Record<string, unknown>;
  } catch (e) {
    if (e instanceof Error && (e as { statusCode?: number }).statusCode === 404) return 'no-datastore';
    throw e;
  }
  const account = ds.accountName;
  const container = ds.containerName;
  if (typeof account !== 'string' || typeof container !== 'string') {
    throw new DeployError(`datastore '${u.datastore}' of '${u.workspace}' is not a blob datastore; mlplane cannot upload the feature set specification to it`, u.path);
  }
  const suffix = typeof ds.endpoint === 'string' ? ds.endpoint : 'core.windows.net';
  const url = `https://${account}.blob.${suffix}/${container}/${u.folder}FeaturesetSpec.yaml`;
  const current = await send(clients, 'GET', url);
  if (current.status === 200 && current.text === u.content) return 'unchanged';
  await send(clients, 'PUT', url, u.content);
  return 'uploaded';
}
