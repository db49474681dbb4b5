import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerStepModel, EnvironmentModel, SecretModel } from '../../lib/model/types';

/** The environment variable `mlplane run` reads a secret from: `MLPLANE_SECRET_<NAME>` (`db-password` → `MLPLANE_SECRET_DB_PASSWORD`). */
export function secretVariable(secret: SecretModel): string {
  return `MLPLANE_SECRET_${secret.secretName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The file `mlplane run` reads a secret from when the variable is unset: `.mlplane/secrets/<name>` of the app. */
export function secretFile(secret: SecretModel): string {
  return path.join('.mlplane', 'secrets', secret.secretName);
}

/** Where local secret values come from: the process environment, then files under the app directory. */
export interface SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly appDir: string;
}

/**
 * The values of a step's secret env (env name → value), or one problem per secret that has no local
 * value. Problems name the variable and the file to set, never a value.
 */
export function resolveLocalSecrets(model: EnvironmentModel, step: ContainerStepModel, source: SecretSource): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of Object.keys(step.secretEnv ?? {}).sort()) {
    const secretPath = step.secretEnv?.[name] as string;
    const secret = model.resources.find((r): r is SecretModel => r.kind === 'secret' && r.path === secretPath);
    if (!secret) {
      problems.push(`env ${name} reads '${secretPath}', which is not a Secret of this environment`);
      continue;
    }
    const variable = secretVariable(secret);
    const fromEnv = source.env[variable];
    if (fromEnv !== undefined && fromEnv !== '') {
      values[name] = fromEnv;
      continue;
    }
    const file = secretFile(secret);
    const full = path.resolve(source.appDir, file);
    if (fs.existsSync(full)) {
      values[name] = fs.readFileSync(full, 'utf8').replace(/\r?\n$/, '');
      continue;
    }
    problems.push(
      `env ${name} reads Secret '${secret.path}' ('${secret.secretName}'), which has no local value: mlplane run reads it from the environment variable ${variable} or the file ${file}; set one of them (keep the file out of version control)`,
    );
  }
  return { values, problems };
}
