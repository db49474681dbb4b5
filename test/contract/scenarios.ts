/** Scenarios of the contract pipeline (test/support/contract-pipeline.ts) shared by every target's test. */
import type { Scenario } from './harness';

export const RAW = { 'raw.csv': 'id,amount,label\na,1.5,true\n' };

export const CONTRACT_SCENARIOS: Readonly<Record<string, Scenario>> = {
  'every step runs and the first version is promoted': {
    data: { 'Contract/Raw': RAW }, outputs: { 'Prep.rows': '7\n', 'Prep.ok': 'true\n' }, metrics: { 'Evaluate.metrics': { auc: 0.9, loss: 0.1 } },
  },
  'a false parameter-output condition skips Fit and everything downstream': {
    data: { 'Contract/Raw': RAW }, outputs: { 'Prep.rows': '7', 'Prep.ok': 'false' },
  },
  'a false metric condition skips Publish and the order-only Report; the gate beats the champion': {
    data: { 'Contract/Raw': RAW }, outputs: { 'Prep.rows': '3', 'Prep.ok': 'true' }, metrics: { 'Evaluate.metrics': { auc: 0.7 } }, reference: 0.65,
  },
  'run parameters reach args and env; a false parameter condition skips Report; the gate keeps the champion': {
    data: { 'Contract/Raw': RAW }, params: { mode: 'quick', epochs: '12', publish: 'false' }, outputs: { 'Prep.rows': '5', 'Prep.ok': 'true' },
    metrics: { 'Evaluate.metrics': { auc: 0.85 } }, reference: 0.9,
  },
};
