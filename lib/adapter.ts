import type { IConstruct } from 'constructs';
import type { Capabilities } from './model/capabilities';
import type { EnvironmentModel } from './model/types';

/** A warning with a stable id users can acknowledge (`mlplane:azure:no-gpu-quota-check`). */
export interface SynthWarning {
  readonly id: string;
  readonly path: string;
  readonly message: string;
}

/**
 * A name, prefix or label a target derives for one construct, in the scope where it must be
 * unique. Adapters return their claims so that names shared by two environments (which no single
 * environment's synth can see) fail the build too; see `adapters/shared/names.ts`.
 */
export interface NameClaim {
  /** Where the name must be unique (`azure:<subscription>/<resource group>`, `gcp:<project>`). */
  readonly scope: string;
  /** What the name is, in messages (`workspace`, `ownership label mlplane-env`). */
  readonly what: string;
  /** The derived name. */
  readonly name: string;
  /** Construct path the name is derived from. */
  readonly path: string;
  /** The provider compares names ignoring case (Azure resource names). @default false */
  readonly ignoreCase?: boolean;
}

/**
 * Documents an adapter produced: relative file path → content. An object is written as JSON with
 * sorted keys; a string is written as is (YAML, Markdown).
 */
export type Documents = Readonly<Record<string, unknown>>;

/** What a document adapter's synth returns. */
export interface DocumentSynthResult {
  readonly documents: Documents;
  readonly warnings: readonly SynthWarning[];
  /** Names the documents use that must be unique beyond this environment. @default - none */
  readonly names?: readonly NameClaim[];
}

interface AdapterBase<S> {
  /** Target name as users write it in `mlplane:target` (`azure`). */
  readonly target: string;
  /** One line for `mlplane ls` and `check`. */
  readonly description: string;
  /** What the target honours; synth fails on an `unsupported` feature the model uses. */
  readonly capabilities: Capabilities;
  /** Where the adapter's README lives, relative to the project root. */
  readonly docs: string;
  /**
   * Read and check this target's settings from context (`mlplane:<target>`).
   *
   * @throws ValidationErrors naming the context key, the value given and the fix.
   */
  parseSettings(raw: unknown): S;
}

/**
 * A target whose artifacts are documents (ARM templates, resource bodies, pipeline specs).
 *
 * `synth` is pure: no network, no SDK, no file system, byte-deterministic.
 */
export interface DocumentAdapter<S = unknown> extends AdapterBase<S> {
  readonly kind: 'documents';
  /** @throws ValidationErrors with every problem (path, value, allowed, fix) at once. */
  synth(model: EnvironmentModel, settings: S): DocumentSynthResult;
}

/**
 * A target that renders into constructs of the same CDK app (the aws target builds aws-cdk-lib
 * stacks under `scope`, so `cdk deploy` works unchanged).
 */
export interface ConstructAdapter<S = unknown> extends AdapterBase<S> {
  readonly kind: 'constructs';
  /** @throws ValidationErrors with every problem at once. */
  synth(scope: IConstruct, model: EnvironmentModel, settings: S): { readonly warnings: readonly SynthWarning[]; readonly names?: readonly NameClaim[] };
}

/** Any adapter. */
export type Adapter<S = unknown> = DocumentAdapter<S> | ConstructAdapter<S>;
