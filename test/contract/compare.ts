/**
 * What the contract fixes about a run, with the run's own paths taken out, so that two targets'
 * observations can be compared for equality: argv and env words with each artifact or output path
 * replaced by its role (`<inputs.data>`; a word that is no absolute path stays as received), parameter text (floats parse-equal), the files each
 * role held, the steps that ran, which dependencies were honoured, and the gate decisions.
 */
import * as path from 'node:path';
import type { PipelineModel } from '../../lib/model/types';
import { capture, containerSteps, type RunObservation } from './harness';

/** The comparable part of one step's observation. */
interface StepFacts {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Files under each artifact role (`inputs.x`, `outputs.y`), and the text of each parameter output file. */
  readonly roles: Readonly<Record<string, unknown>>;
}

/** The comparable part of a run. */
export interface RunFacts {
  readonly ran: readonly string[];
  /** `A after B` for every dependency of a step that ran, true when B completed before A started. */
  readonly honoured: Readonly<Record<string, boolean>>;
  readonly steps: Readonly<Record<string, StepFacts>>;
  readonly gates: RunObservation['gates'];
  readonly succeeded: boolean;
}

/** The facts of `run` of pipeline `p` that the contract fixes, free of target paths. */
export function contractFacts(p: PipelineModel, run: RunObservation): RunFacts {
  const steps: Record<string, StepFacts> = {};
  for (const s of containerSteps(p)) {
    const seen = run.steps[s.name];
    if (!seen) continue;
    const roles: Record<string, unknown> = {};
    const word = (template: string, actual: string | undefined): string => {
      if (actual === undefined) return '<missing>';
      const bound = capture(template, actual);
      if (!bound) return actual;
      let out = template;
      for (const [placeholder, text] of bound) {
        const [kind, name] = placeholder.split('.') as [string, string];
        const io = kind === 'inputs' ? s.inputs.find((i) => i.name === name) : kind === 'outputs' ? s.outputs.find((o) => o.name === name) : undefined;
        let value = text;
        if (io && (io.type.kind === 'artifact' || kind === 'outputs') && path.isAbsolute(text)) {
          value = `<${placeholder}>`;
          roles[placeholder] = seen.dirs[text] ?? seen.files[text] ?? '<absent>';
        } else if (io?.type.kind === 'parameter' && io.type.type === 'float') value = String(Number(text));
        else if (kind === 'params' && p.parameters.find((x) => x.name === name)?.type === 'float') value = String(Number(text));
        out = out.replace(`{{${placeholder}}}`, value);
      }
      return out;
    };
    const words = [...s.command.slice(1), ...s.args];
    steps[s.name] = {
      argv: [...words.map((t, i) => word(t, seen.argv[i])), ...seen.argv.slice(words.length)],
      env: Object.fromEntries(Object.entries(s.env).map(([k, t]) => [k, word(t, seen.env[k])])),
      roles,
    };
  }
  const honoured: Record<string, boolean> = {};
  for (const s of p.steps) {
    const at = run.order.indexOf(s.name);
    if (at < 0) continue;
    for (const d of s.dependsOn) honoured[`${s.name} after ${d}`] = run.order.indexOf(d) >= 0 && run.order.indexOf(d) < at;
  }
  return { ran: [...run.order].sort(), honoured, steps, gates: run.gates, succeeded: run.succeeded };
}
