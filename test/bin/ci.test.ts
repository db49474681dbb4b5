import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderWorkflow, type CiProvider } from '../../bin/commands/ci';

// Parsed YAML is walked freely in these assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const all = { targets: ['azure', 'gcp', 'aws'] as const, stages: ['dev', 'staging', 'prod'], branch: 'main' };
const scripts = (steps: Doc[]) => steps.map((s) => s.run ?? s.script ?? s.bash ?? '').join('\n');

describe('mlplane ci init', () => {
  it('github: checks, plans on pull requests with the plan as an artifact, deploys dev → staging → prod with OIDC', () => {
    const text = renderWorkflow({ provider: 'github', ...all });
    const wf = parse(text) as Doc;
    expect(wf.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect(scripts(wf.jobs.check.steps)).toContain('npx mlplane check --target azure,gcp,aws');
    const plan = wf.jobs.plan;
    expect(plan.if).toBe("github.event_name == 'pull_request'");
    expect(plan.permissions['pull-requests']).toBe('write');
    expect(scripts(plan.steps)).toMatch(/npx mlplane diff --target azure,gcp,aws > plan\.txt/);
    expect(plan.steps.find((s: Doc) => s.uses === 'actions/upload-artifact@v4').with.path).toContain('plan.json');
    expect(scripts(plan.steps)).toContain('gh pr comment');
    expect(['deploy-dev', 'deploy-staging', 'deploy-prod'].map((j) => [wf.jobs[j].needs, wf.jobs[j].environment])).toEqual([
      ['check', 'dev'], ['deploy-dev', 'staging'], ['deploy-staging', 'prod'],
    ]);
    const prod = wf.jobs['deploy-prod'];
    expect(prod.if).toContain("github.ref == 'refs/heads/main'");
    expect(prod.steps.map((s: Doc) => s.uses).filter(Boolean)).toEqual(expect.arrayContaining(['azure/login@v2', 'google-github-actions/auth@v2', 'aws-actions/configure-aws-credentials@v4']));
    expect(scripts(prod.steps)).toContain('npx mlplane deploy --target azure,gcp,aws --stage prod --require-approval never');
    expect(text).not.toMatch(/secrets\./);
  });

  it('github: authenticates only to the selected clouds', () => {
    const wf = parse(renderWorkflow({ provider: 'github', ...all, targets: ['gcp'] })) as Doc;
    const uses = wf.jobs['deploy-dev'].steps.map((s: Doc) => s.uses).filter(Boolean);
    expect(uses).toContain('google-github-actions/auth@v2');
    expect(uses).not.toContain('azure/login@v2');
    expect(uses).not.toContain('aws-actions/configure-aws-credentials@v4');
  });

  it('azure-devops: stages with deployment jobs per environment and OIDC token exchange', () => {
    const text = renderWorkflow({ provider: 'azure-devops', ...all });
    const wf = parse(text) as Doc;
    expect(wf.stages.map((s: Doc) => s.stage)).toEqual(['check', 'plan', 'deploy_dev', 'deploy_staging', 'deploy_prod']);
    expect(scripts(wf.stages[0].jobs[0].steps)).toContain('npx mlplane check');
    expect(wf.stages[1].condition).toContain("'PullRequest'");
    expect(scripts(wf.stages[1].jobs[0].steps)).toContain('npx mlplane diff --target azure,gcp,aws --json > plan.json');
    expect(wf.stages[1].jobs[0].steps.some((s: Doc) => s.artifact === 'mlplane-plan')).toBe(true);
    const prod = wf.stages[4];
    expect(prod.dependsOn).toBe('deploy_staging');
    expect(prod.jobs[0].environment).toBe('prod');
    const steps = prod.jobs[0].strategy.runOnce.deploy.steps;
    expect(scripts(steps)).toContain('SYSTEM_OIDCREQUESTURI');
    expect(scripts(steps)).toMatch(/AZURE_FEDERATED_TOKEN_FILE[\s\S]*GOOGLE_APPLICATION_CREDENTIALS[\s\S]*AWS_WEB_IDENTITY_TOKEN_FILE/);
    expect(scripts(steps)).toContain('npx mlplane deploy --target azure,gcp,aws --stage prod --require-approval never');
    expect(text).not.toMatch(/\$\(\w*(SECRET|PASSWORD|KEY)\w*\)/i);
  });

  it('gitlab: id_tokens for OIDC, merge-request plan, manual prod deploy', () => {
    const wf = parse(renderWorkflow({ provider: 'gitlab', ...all }), { merge: true }) as Doc;
    expect(wf.stages).toEqual(['check', 'plan', 'deploy-dev', 'deploy-staging', 'deploy-prod']);
    expect(wf.check.script[0]).toBe('npx mlplane check --target azure,gcp,aws');
    expect(wf.plan.id_tokens.MLPLANE_OIDC_TOKEN).toBeDefined();
    expect(wf.plan.rules[0].if).toContain('merge_request_event');
    expect(wf.plan.artifacts.paths).toEqual(['plan.txt', 'plan.json']);
    expect(wf['deploy-prod'].rules[0]).toEqual({ if: '$CI_COMMIT_BRANCH == "main"', when: 'manual' });
    expect(wf['deploy-prod'].environment.name).toBe('prod');
    expect(wf['deploy-dev'].rules[0].when).toBeUndefined();
    expect(wf['deploy-prod'].before_script.join('\n')).toMatch(/GOOGLE_APPLICATION_CREDENTIALS[\s\S]*AWS_WEB_IDENTITY_TOKEN_FILE/);
  });

  describe('aws promotion: each side with its own stage role, through OIDC', () => {
    const awsPromote = (from: string, to: string) => `AWS_CONFIG_FILE="$creds/aws-config" npx mlplane promote --from ${from} --to ${to} --target aws --from-profile mlplane-${from} --to-profile mlplane-${to} --approved-by`;
    /** The shell of each deploy job, per provider, in step order. */
    const jobShell: Record<CiProvider, (stage: string) => string> = {
      github: (stage) => scripts((parse(renderWorkflow({ provider: 'github', ...all })) as Doc).jobs[`deploy-${stage}`].steps),
      'azure-devops': (stage) => scripts((parse(renderWorkflow({ provider: 'azure-devops', ...all })) as Doc).stages.find((x: Doc) => x.stage === `deploy_${stage}`).jobs[0].strategy.runOnce.deploy.steps),
      gitlab: (stage) => ((parse(renderWorkflow({ provider: 'gitlab', ...all }), { merge: true }) as Doc)[`deploy-${stage}`].script as string[]).join('\n'),
    };

    for (const provider of ['github', 'azure-devops', 'gitlab'] as const) {
      it(`${provider}: staging promotes dev → staging and prod staging → prod on aws, after the deploy, with profiles of both stages' roles`, () => {
        for (const [from, to] of [['dev', 'staging'], ['staging', 'prod']] as const) {
          const shell = jobShell[provider](to);
          expect(shell).toContain(awsPromote(from, to));
          expect(shell.indexOf(awsPromote(from, to))).toBeGreaterThan(shell.indexOf(`npx mlplane deploy --target azure,gcp,aws --stage ${to}`));
          expect(shell).toContain(`[profile mlplane-${from}]\\nrole_arn = %s\\nweb_identity_token_file = %s`);
          expect(shell).toContain(`"\${AWS_ROLE_ARN_${from.toUpperCase()}:?`);
          expect(shell).toContain(`"\${AWS_ROLE_ARN_${to.toUpperCase()}:?`);
        }
        expect(jobShell[provider]('dev')).not.toContain('--target aws');
      });
    }

    it('github: maps each stage role from a non-secret variable into the promotion step only', () => {
      const wf = parse(renderWorkflow({ provider: 'github', ...all })) as Doc;
      const step = (wf.jobs['deploy-prod'].steps as Doc[]).find((x) => String(x.run ?? '').includes('--target aws --from-profile'));
      expect(step.env).toEqual({ AWS_ROLE_ARN_STAGING: '${{ vars.AWS_ROLE_ARN_STAGING }}', AWS_ROLE_ARN_PROD: '${{ vars.AWS_ROLE_ARN_PROD }}' });
      expect(step.run).toContain('"$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com"');
    });

    it('writes no aws promotion without the aws target', () => {
      for (const provider of ['github', 'azure-devops', 'gitlab'] as const) {
        const text = renderWorkflow({ provider, ...all, targets: ['azure', 'gcp'] });
        expect(text).not.toContain('--target aws');
        expect(text).not.toContain('AWS_ROLE_ARN');
      }
    });
  });

  describe('stages and promotion', () => {
    const synths = ['dev', 'staging', 'prod'].map((s) => `npx mlplane synth --target azure,gcp,aws --stage ${s} -o cdk.out/${s}`);
    const deploy = (s: string, app: string) => `npx mlplane deploy --target azure,gcp,aws --stage ${s} --require-approval never --app ${app}/${s} --json > deploy-${s}.json`;
    const promote = (from: string, to: string, t: string) => `npx mlplane promote --from ${from} --to ${to} --target ${t} --approved-by`;

    it('github: synthesizes every stage once, each deploy job deploys that artifact, and prod promotes after its deploy behind the prod environment', () => {
      const wf = parse(renderWorkflow({ provider: 'github', ...all })) as Doc;
      expect(scripts(wf.jobs.check.steps)).toContain(synths.join('\n'));
      expect(wf.jobs.check.steps.find((s: Doc) => s.uses === 'actions/upload-artifact@v4').with).toEqual({ name: 'mlplane-cdk-out', path: 'cdk.out/' });
      for (const stage of ['dev', 'staging', 'prod']) {
        const steps = wf.jobs[`deploy-${stage}`].steps as Doc[];
        const download = steps.findIndex((s) => s.uses === 'actions/download-artifact@v4');
        const run = steps.findIndex((s) => s.run === deploy(stage, 'cdk.out'));
        expect(download).toBeGreaterThan(-1);
        expect(steps[download].with).toEqual({ name: 'mlplane-cdk-out', path: 'cdk.out' });
        expect(run).toBeGreaterThan(download);
        expect(scripts(steps)).not.toMatch(/mlplane synth/);
      }
      const prod = wf.jobs['deploy-prod'];
      expect(prod.environment).toBe('prod');
      const runs = (prod.steps as Doc[]).map((s) => s.run ?? '');
      const promotions = runs.filter((r: string) => r.startsWith('npx mlplane promote'));
      expect(promotions.map((r: string) => r.slice(0, r.indexOf('--approved-by') + 13))).toEqual([promote('staging', 'prod', 'azure'), promote('staging', 'prod', 'gcp')]);
      expect(runs.indexOf(promotions[0])).toBeGreaterThan(runs.indexOf(deploy('prod', 'cdk.out')));
      expect(scripts(wf.jobs['deploy-dev'].steps)).not.toContain('mlplane promote');
    });

    it('azure-devops: the check stage publishes cdk.out, deployments download and deploy it, prod promotes inside the prod environment', () => {
      const wf = parse(renderWorkflow({ provider: 'azure-devops', ...all })) as Doc;
      const check = wf.stages[0].jobs[0].steps as Doc[];
      expect(scripts(check)).toContain(synths.join('\n'));
      expect(check.find((s) => s.publish)).toEqual({ publish: 'cdk.out', artifact: 'mlplane-cdk-out' });
      const prod = wf.stages[4].jobs[0];
      expect(prod.environment).toBe('prod');
      const steps = prod.strategy.runOnce.deploy.steps as Doc[];
      expect(steps.some((s) => s.download === 'current' && s.artifact === 'mlplane-cdk-out')).toBe(true);
      const all_ = scripts(steps);
      expect(all_).toContain(deploy('prod', '$(Pipeline.Workspace)/mlplane-cdk-out'));
      expect(all_.indexOf(promote('staging', 'prod', 'gcp'))).toBeGreaterThan(all_.indexOf('mlplane deploy'));
    });

    it('gitlab: the check job keeps cdk.out, deploy jobs take only it, and prod is a manual job in the protected prod environment that deploys then promotes', () => {
      const wf = parse(renderWorkflow({ provider: 'gitlab', ...all }), { merge: true }) as Doc;
      expect(wf.check.script.slice(1)).toEqual(synths);
      expect(wf.check.artifacts.paths).toEqual(['cdk.out/']);
      const prod = wf['deploy-prod'];
      expect(prod.dependencies).toEqual(['check']);
      expect(prod.needs).toEqual(['check', 'deploy-staging']);
      expect(prod.script[0]).toBe(deploy('prod', 'cdk.out'));
      expect(prod.script.slice(1).filter((c: string) => c.startsWith('npx mlplane promote')).map((c: string) => c.slice(0, c.indexOf('--approved-by') + 13))).toEqual([promote('staging', 'prod', 'azure'), promote('staging', 'prod', 'gcp')]);
      expect(prod.rules[0].when).toBe('manual');
    });
  });
});
