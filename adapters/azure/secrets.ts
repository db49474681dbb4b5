import type { SecretModel } from '../../lib/model/types';
import type { SynthContext } from './context';

/** A Key Vault secret as the azure target reads it. */
export interface KeyVaultSecret {
  readonly vault: string;
  readonly name: string;
  /** `https://<vault>.vault.azure.net/secrets/<name>` (the latest version). */
  readonly url: string;
}

/**
 * The Key Vault secret a `secret` resource names: its own vault, or the environment's Key Vault
 * (which uses Azure RBAC, so `Key Vault Secrets User` on the secret is the whole grant). Problems go
 * to `user` (the step or deployment that reads it).
 *
 * @see https://learn.microsoft.com/en-us/azure/key-vault/general/rbac-guide
 */
export function keyVaultSecret(ctx: SynthContext, secretPath: string, user: string): KeyVaultSecret | undefined {
  const r = ctx.resource(secretPath);
  if (r === undefined || r.kind !== 'secret') {
    ctx.problem(user, `env reads secret '${secretPath}', which is not a Secret of this environment; define it with new Secret(env, ...)`);
    return undefined;
  }
  return keyVaultSecretOf(ctx, r);
}

/** The Key Vault secret of a `secret` resource. */
export function keyVaultSecretOf(ctx: SynthContext, r: SecretModel): KeyVaultSecret {
  const vault = r.azure.vaultName ?? ctx.core.keyVault;
  return { vault, name: r.azure.secretName, url: `https://${vault}.vault.azure.net/secrets/${r.azure.secretName}` };
}
