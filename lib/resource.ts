import { Construct, type IConstruct } from 'constructs';
import { brand, hasBrand } from './core/brand';
import { addProblem, checkedId } from './core/errors';
import { MlopsEnvironment } from './environment';
import type { GrantModel, PrincipalModel, ResourceModel } from './model/types';

const RESOURCE_BRAND = 'Resource';
const GRANTABLE_BRAND = 'Grantable';

/**
 * Something that can be given access to a resource: a pipeline step, an online endpoint (all its
 * deployments), a batch inference job or a drift monitor.
 */
export interface IGrantable extends IConstruct {
  /** @internal The principals this grantee acts as. */
  _principals(): PrincipalModel[];
}

/** Whether `x` can be granted access. */
export function isGrantable(x: unknown): x is IGrantable {
  return hasBrand(x, GRANTABLE_BRAND);
}

/** Mark a construct as grantable. */
export function markGrantable(x: IGrantable): void {
  brand(x, GRANTABLE_BRAND);
}

/**
 * Base of every top-level construct of an environment that becomes a resource in the model.
 */
export abstract class MlResource extends Construct {
  /** Whether `x` is an mlplane resource construct. */
  public static isMlResource(x: unknown): x is MlResource {
    return hasBrand(x, RESOURCE_BRAND);
  }

  /** The environment this resource belongs to. */
  public readonly environment: MlopsEnvironment;

  constructor(scope: Construct, id: string) {
    super(scope, checkedId(scope, id, new.target.name));
    brand(this, RESOURCE_BRAND);
    this.environment = MlopsEnvironment.of(this);
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(id) || id.length > 64) {
      addProblem(this, `construct id '${id}' must be 1-64 letters, digits, '_' or '-' starting with a letter (ids become cloud resource names); rename it`);
    }
  }

  /** @internal Render this resource into the model. Called after validation. */
  public abstract _render(): ResourceModel;

  /**
   * Record an access edge from `grantee` to this resource.
   *
   * @internal
   */
  protected _grant(grantee: IGrantable, access: GrantModel['access'], origin: GrantModel['origin']): void {
    if (!isGrantable(grantee)) {
      addProblem(this, `cannot grant ${access} access to '${(grantee as IConstruct)?.node?.path ?? String(grantee)}': it is not a step, endpoint, batch inference or monitor; grant to one of those`);
      return;
    }
    const granteeEnv = MlopsEnvironment.of(grantee);
    if (granteeEnv !== this.environment) {
      addProblem(this, `cannot grant ${access} access to '${grantee.node.path}' of environment '${granteeEnv.node.id}': grants stay within environment '${this.environment.node.id}'; define the grantee in the same environment`);
      return;
    }
    this._recordGrants(grantee._principals(), access, origin);
  }

  /** @internal Record access edges for principals already known to be of this environment. */
  public _recordGrants(principals: readonly PrincipalModel[], access: GrantModel['access'], origin: GrantModel['origin']): void {
    for (const principal of principals) {
      this.environment._addGrant({ principal, resource: this.node.path, access, origin });
    }
  }
}

/** Require that `other` belongs to the same environment as `scope`; record a problem otherwise. */
export function sameEnvironment(scope: IConstruct, what: string, other: IConstruct): boolean {
  const a = MlopsEnvironment.of(scope);
  const b = MlopsEnvironment.of(other);
  if (a !== b) {
    addProblem(scope, `${what} '${other.node.path}' belongs to environment '${b.node.id}', not '${a.node.id}'; reference a resource of the same environment`);
    return false;
  }
  return true;
}
