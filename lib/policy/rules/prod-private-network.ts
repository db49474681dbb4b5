import type { PolicyRule } from '../rule';

/** Production environments keep their endpoints and data off the public internet. */
export const prodPrivateNetwork: PolicyRule = {
  id: 'mlplane-prod-private-network',
  level: 'error',
  description: 'prod environments use Network.PRIVATE (no public endpoints for data, registry or workspace)',
  check: (m) =>
    m.environment.stage === 'prod' && m.environment.network.mode !== 'private'
      ? [{ path: m.environment.path, message: 'a prod environment uses Network.PUBLIC; use Network.PRIVATE, or suppress with the reason the data may be public' }]
      : [],
};
