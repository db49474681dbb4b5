import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/mlplane';

/**
 * The aws target deploys through the CDK toolkit. No CloudFormation simulator exists here, so the
 * toolkit call is exercised up to the point of sending: AWS_ENDPOINT_URL points every AWS SDK
 * client at a loopback server that records the (SigV4-signed) requests and refuses them.
 */
describe('mlplane deploy --target aws', () => {
  const requests: Array<{ method: string; url: string; authorization?: string; body: string }> = [];
  let server: http.Server;
  const saved: Record<string, string | undefined> = {};
  const env = { AWS_ACCESS_KEY_ID: 'AKIDLOOPBACKTEST', AWS_SECRET_ACCESS_KEY: 'loopback-secret-not-real', AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_DISABLED: 'true' };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>loopback refuses every call</Message></Error><RequestId>1</RequestId></ErrorResponse>');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    for (const [k, v] of Object.entries({ ...env, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await new Promise((r) => server.close(r));
  });

  it('synthesizes the stacks and sends signed AWS API calls through the toolkit, failing cleanly when refused', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (c) => (stderr += c));
    out.resume();
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-aws-deploy-'));
    const code = await main(['deploy', '--target', 'aws', '--require-approval', 'never', '--out', outdir, 'Churn'], out, err);
    expect(code).toBe(1);
    expect(fs.existsSync(path.join(outdir, 'Churn-staging-mlops.template.json'))).toBe(true);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests[0].authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDLOOPBACKTEST\//);
    expect(requests.map((r) => r.body).join('\n')).toMatch(/Action=(GetCallerIdentity|DescribeStacks)/);
    expect(stderr).not.toContain('loopback-secret-not-real');
    expect(stderr).toMatch(/^mlplane: .*no credentials/m);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('deploys the synthesized assembly itself with --app <dir>, synthesizing nothing again', { timeout: 180_000 }, async () => {
    const sink = () => {
      const s = new PassThrough();
      s.resume();
      return s;
    };
    const synthesized = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-aws-artifact-'));
    expect(await main(['synth', '--target', 'aws', '--out', synthesized], sink(), sink())).toBe(0);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-aws-elsewhere-'));
    const before = requests.length;
    const code = await main(['deploy', '--target', 'aws', '--require-approval', 'never', '--app', synthesized, '--out', elsewhere, 'Churn'], sink(), sink());
    expect(code).toBe(1);
    // The toolkit read the given assembly: nothing was synthesized into --out, and calls went out for it.
    expect(fs.readdirSync(elsewhere).filter((f) => f.endsWith('.template.json'))).toEqual([]);
    expect(requests.length).toBeGreaterThan(before);
  });
});
