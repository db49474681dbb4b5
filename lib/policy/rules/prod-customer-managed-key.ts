import type { PolicyRule } from '../rule';

/** Production data is encrypted with a key the team controls (revocable, auditable). */
export const prodCustomerManagedKey: PolicyRule = {
  id: 'mlplane-prod-customer-managed-key',
  level: 'warning',
  description: 'prod environments encrypt data with Encryption.customerManagedKey()',
  check: (m) =>
    m.environment.stage === 'prod' && m.environment.encryption.kind !== 'customer-managed'
      ? [{ path: m.environment.path, message: 'a prod environment uses platform-managed keys; use Encryption.customerManagedKey() so access to the data can be revoked' }]
      : [],
};
