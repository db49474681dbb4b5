/**
 * The mlplane CLI runs the app named by `cdk.json`'s `app` in the current directory (as the CDK CLI
 * does), never the bundled examples: `loadApp` finds the entry file and takes the definition the
 * entry hands to `runApp`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildApp, loadApp } from '../../bin/build';
import { ValidationErrors } from '../../lib';

const BUILD = pathToFileURL(path.resolve(__dirname, '../../bin/build.ts')).href;

/** A folder holding `files`. */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-app-'));
  for (const [f, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), content);
  }
  return dir;
}

async function problemOf(dir: string): Promise<{ path: string; message: string }> {
  const e = await loadApp(dir).then(() => undefined, (x: unknown) => x);
  expect(ValidationErrors.isValidationErrors(e), String(e)).toBe(true);
  const problems = (e as ValidationErrors).problems;
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe('loadApp', () => {
  it("loads the app the entry file hands to runApp, and builds that app (not the repository's examples)", async () => {
    const dir = folder({
      'cdk.json': JSON.stringify({ app: 'node --import tsx bin/app.mjs' }),
      'bin/app.mjs': `import { runApp } from '${BUILD}';\nawait runApp(() => {});\n`,
    });
    const define = await loadApp(dir);
    expect(typeof define).toBe('function');
    // The definition defines nothing: the build reports exactly that, proving it ran this app.
    const e = await buildApp({ define, context: { 'mlplane:target': 'gcp' } }).then(() => undefined, (x: unknown) => x);
    expect(ValidationErrors.isValidationErrors(e) && e.problems).toEqual([{ path: '/', message: 'the app defines no MlopsEnvironment; define one in the function given to runApp (see README)' }]);
  });

  it('fails if there is no cdk.json, saying how to make a project', async () => {
    const dir = folder({});
    expect(await problemOf(dir)).toEqual({ path: 'cdk.json', message: `no app in ${dir}: there is no cdk.json here; run 'mlplane init' in an empty directory to create a project, run mlplane in your project's directory, or name the app with --app 'npx tsx bin/app.ts'` });
  });

  it('fails if cdk.json has no app command', async () => {
    expect((await problemOf(folder({ 'cdk.json': '{"context":{}}' }))).message).toBe('no app: cdk.json has no "app" command (got undefined); set it to the command that runs your app, e.g. "npx tsx bin/app.ts"');
  });

  it('fails if the app command names no Node entry file', async () => {
    expect((await problemOf(folder({ 'cdk.json': '{"app":"python3 app.py"}' }))).message).toBe(`app command 'python3 app.py' names no .ts or .js file; mlplane loads a Node app in process: name its entry file, e.g. "npx tsx bin/app.ts"`);
  });

  it('fails if the entry file does not exist', async () => {
    const dir = folder({ 'cdk.json': '{"app":"npx tsx bin/main.ts"}' });
    expect((await problemOf(dir)).message).toBe(`the app's entry bin/main.ts (from "app": "npx tsx bin/main.ts") does not exist in ${dir}; create it or fix "app" in cdk.json`);
  });

  it('fails if the entry file never calls runApp', async () => {
    const dir = folder({ 'cdk.json': '{"app":"node bin/app.mjs"}', 'bin/app.mjs': 'export const nothing = 1;\n' });
    expect((await problemOf(dir)).message).toBe("the app's entry bin/app.mjs did not call runApp(); define your environments in runApp((app) => { ... }) from 'mlplane/app' (see README)");
  });
});
