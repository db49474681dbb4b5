/**
 * A stand-in for the two AWS APIs `mlplane promote` calls on the aws target, on 127.0.0.1, for the
 * real `@aws-sdk/client-cloudformation` and `@aws-sdk/client-s3` (endpoint override, path-style S3):
 *
 * * CloudFormation `DescribeStacks` (Query protocol: form-encoded POST, `Version=2010-05-15`, XML answer);
 * * S3 `ListObjectsV2`, `GetObject`, `PutObject` (REST, path-style `/<bucket>/<key>`).
 *
 * Like AWS, it knows the caller's account from the access key id in the SigV4 `Authorization`
 * header, and a stack or bucket exists only in its own account: a caller from another account gets
 * "does not exist" / `AccessDenied`. Requests without a SigV4 signature for the right service and
 * region, or missing a required parameter, are refused and recorded in `violations`.
 *
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Stack {
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/** One running stand-in. */
export interface AwsStandIn {
  readonly url: string;
  /** Access key id → account. */
  readonly keys: Map<string, string>;
  readonly stacks: Stack[];
  /** Bucket → owner account, region, objects. */
  readonly buckets: Map<string, { account: string; region: string; objects: Map<string, Buffer> }>;
  readonly requests: Array<{ service: string; account: string; method: string; path: string; action?: string }>;
  readonly violations: string[];
  close(): Promise<void>;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The object bytes of a PutObject body: as sent, or decoded from `aws-chunked` encoding (what the SDK
 * sends for a stream with a trailing checksum): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`…,
 * a zero-size chunk, then the trailer headers the `x-amz-trailer` header announced. A string: why
 * the body is malformed.
 */
function payload(req: IncomingMessage, body: Buffer): Buffer | string {
  const encodings = String(req.headers['content-encoding'] ?? '').split(',').map((e) => e.trim());
  if (!encodings.includes('aws-chunked')) {
    const declared = Number(req.headers['content-length']);
    return Number.isFinite(declared) && declared === body.length ? body : `content-length ${String(req.headers['content-length'])} for a body of ${body.length} bytes`;
  }
  const decodedLength = Number(req.headers['x-amz-decoded-content-length']);
  if (!Number.isFinite(decodedLength)) return 'aws-chunked without x-amz-decoded-content-length';
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) return 'aws-chunked: a chunk header without CRLF';
    const size = parseInt((body.subarray(at, eol).toString('latin1').split(';')[0] as string).trim(), 16);
    if (!Number.isFinite(size)) return 'aws-chunked: a chunk size that is not hexadecimal';
    at = eol + 2;
    if (size === 0) break;
    parts.push(body.subarray(at, at + size));
    at += size;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') return 'aws-chunked: chunk data not followed by CRLF';
    at += 2;
  }
  const trailer = body.subarray(at).toString('latin1');
  const announced = req.headers['x-amz-trailer'];
  if (announced && !trailer.toLowerCase().startsWith(`${String(announced).toLowerCase()}:`)) return `aws-chunked: x-amz-trailer announced ${String(announced)}, the trailer is ${JSON.stringify(trailer)}`;
  const data = Buffer.concat(parts);
  return data.length === decodedLength ? data : `aws-chunked: x-amz-decoded-content-length ${decodedLength} for ${data.length} bytes`;
}

/** Start the stand-in on an ephemeral loopback port. `pageSize`: keys per ListObjectsV2 page (small, to exercise paging). */
export async function startAwsStandIn(pageSize = 2): Promise<AwsStandIn> {
  const keys = new Map<string, string>();
  const stacks: Stack[] = [];
  const buckets: AwsStandIn['buckets'] = new Map();
  const requests: AwsStandIn['requests'] = [];
  const violations: string[] = [];

  const s3Error = (res: ServerResponse, status: number, code: string, message: string) =>
    res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message><RequestId>standin</RequestId></Error>`);
  const cfnError = (res: ServerResponse, status: number, code: string, message: string) =>
    res.writeHead(status, { 'content-type': 'text/xml' }).end(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>standin</RequestId></ErrorResponse>`);

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9]+)\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(req.headers.authorization ?? '');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!auth) {
      violations.push(`${req.method} ${url.pathname}: no SigV4 Authorization header`);
      return s3Error(res, 403, 'MissingAuthenticationToken', 'requests must be signed with SigV4');
    }
    const [, keyId, , region, service] = auth as unknown as [string, string, string, string, string];
    const account = keys.get(keyId);
    if (!account) return s3Error(res, 403, 'InvalidAccessKeyId', `The AWS Access Key Id ${keyId} you provided does not exist in our records.`);

    if (service === 'cloudformation') {
      const form = new URLSearchParams(body.toString('utf8'));
      requests.push({ service, account, method: req.method as string, path: url.pathname, action: form.get('Action') ?? '' });
      if (req.method !== 'POST' || !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') || form.get('Version') !== '2010-05-15') {
        violations.push(`cloudformation: not a Query request of API version 2010-05-15 (${req.method}, ${req.headers['content-type'] ?? ''}, Version=${form.get('Version') ?? ''})`);
        return cfnError(res, 400, 'InvalidAction', 'expected a Query request, Version=2010-05-15');
      }
      if (form.get('Action') !== 'DescribeStacks') {
        violations.push(`cloudformation: action ${form.get('Action') ?? ''} is not served`);
        return cfnError(res, 400, 'InvalidAction', `the stand-in serves DescribeStacks only`);
      }
      const name = form.get('StackName') ?? '';
      const stack = stacks.find((s) => s.account === account && s.region === region && s.name === name);
      if (!stack) return cfnError(res, 400, 'ValidationError', `Stack with id ${name} does not exist`);
      const outputs = Object.entries(stack.outputs).map(([k, v]) => `<member><OutputKey>${xml(k)}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`).join('');
      return res.writeHead(200, { 'content-type': 'text/xml' }).end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackId>arn:aws:cloudformation:${region}:${account}:stack/${xml(name)}/00000000-0000-0000-0000-000000000001</StackId><StackName>${xml(name)}</StackName>` +
          `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${outputs}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>standin</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    }

    if (service !== 's3') {
      violations.push(`service ${service} is not served`);
      return s3Error(res, 400, 'InvalidRequest', `service ${service} is not served`);
    }
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    requests.push({ service, account, method: req.method as string, path: url.pathname });
    const bucket = buckets.get(bucketName);
    if (!bucket) return s3Error(res, 404, 'NoSuchBucket', `The specified bucket ${bucketName} does not exist`);
    if (bucket.account !== account) return s3Error(res, 403, 'AccessDenied', `account ${account} may not access bucket ${bucketName} of account ${bucket.account}`);
    if (bucket.region !== region) {
      violations.push(`s3: bucket ${bucketName} is in ${bucket.region}, the request was signed for ${region}`);
      return s3Error(res, 400, 'AuthorizationHeaderMalformed', `the region '${region}' is wrong; expecting '${bucket.region}'`);
    }
    if (req.method === 'GET' && key === '') {
      if (url.searchParams.get('list-type') !== '2') {
        violations.push('s3: a bucket GET without list-type=2 (ListObjects v1) is not served');
        return s3Error(res, 400, 'InvalidArgument', 'list-type=2 expected');
      }
      const prefix = url.searchParams.get('prefix') ?? '';
      const all = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get('continuation-token') ?? 0);
      const page = all.slice(start, start + pageSize);
      const truncated = start + pageSize < all.length;
      return res.writeHead(200, { 'content-type': 'application/xml' }).end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucketName)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
          page.map((k) => `<Contents><Key>${xml(k)}</Key><Size>${(bucket.objects.get(k) as Buffer).length}</Size><StorageClass>STANDARD</StorageClass></Contents>`).join('') +
          (truncated ? `<NextContinuationToken>${start + pageSize}</NextContinuationToken>` : '') +
          `</ListBucketResult>`,
      );
    }
    if (req.method === 'GET') {
      const object = bucket.objects.get(key);
      if (!object) return s3Error(res, 404, 'NoSuchKey', `The specified key ${key} does not exist.`);
      return res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(object.length), etag: '"standin"' }).end(object);
    }
    if (req.method === 'PUT' && key !== '') {
      if (req.headers['x-amz-copy-source']) {
        violations.push('s3: CopyObject is not served');
        return s3Error(res, 501, 'NotImplemented', 'CopyObject is not served');
      }
      const decoded = payload(req, body);
      if (typeof decoded === 'string') {
        violations.push(`s3: PutObject ${key}: ${decoded}`);
        return s3Error(res, 400, 'IncompleteBody', decoded);
      }
      bucket.objects.set(key, decoded);
      return res.writeHead(200, { etag: '"standin"' }).end();
    }
    violations.push(`s3: ${req.method} ${url.pathname} is not served`);
    return s3Error(res, 405, 'MethodNotAllowed', `${req.method} is not served`);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    keys,
    stacks,
    buckets,
    requests,
    violations,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
