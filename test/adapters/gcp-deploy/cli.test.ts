import { describe, expect, it } from 'vitest';
import { parseSimulatorArgs } from '../../../adapters/gcp/simulator/main';

describe('npm run simulate -- gcp', () => {
  it('reads --port, --latency-ms and --operation-polls', () => {
    expect(parseSimulatorArgs(['gcp', '--port', '8089', '--latency-ms=25', '--operation-polls', '3'])).toEqual({ port: 8089, latencyMs: 25, operationPolls: 3 });
    expect(parseSimulatorArgs([])).toEqual({ port: 0, latencyMs: 0, operationPolls: 0 });
  });

  it('fails if an option is unknown or not a whole number', () => {
    expect(() => parseSimulatorArgs(['--prot', '1'])).toThrow("unknown option '--prot'");
    expect(() => parseSimulatorArgs(['--port', 'x'])).toThrow("--port needs a whole number, got 'x'");
  });
});
