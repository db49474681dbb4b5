/**
 * Small Python programs that read a secret inside a step's container where the platform has no
 * native secret environment variable for the job (Azure ML command jobs, Vertex AI pipeline tasks
 * and custom jobs). They use only the standard library, authenticate as the job's own identity,
 * never print the value except to the caller (stdout of the Azure reader, the exec'd environment of
 * the gcp wrapper) and report failures without it.
 *
 * The sources hold no `'`, `$` or backtick, so a shell can carry them in single quotes.
 */

/**
 * Reads one Key Vault secret (`argv[1]`, `https://<vault>.vault.azure.net/secrets/<name>`) with a
 * token of the job's user-assigned identity (`MLPLANE_CLIENT_ID`), from the identity endpoint Azure
 * ML gives the job (`IDENTITY_ENDPOINT` / `MSI_ENDPOINT`) or the instance metadata service, and
 * writes its value to stdout.
 *
 * @see https://learn.microsoft.com/en-us/azure/machine-learning/how-to-identity-based-service-authentication
 * @see https://learn.microsoft.com/en-us/rest/api/keyvault/secrets/get-secret/get-secret
 */
export const AZURE_KEY_VAULT_READER = [
  'import json, os, sys, urllib.parse as p, urllib.request as u',
  'url = sys.argv[1]',
  'res = "https://vault.azure.net"',
  'cid = os.environ.get("MLPLANE_CLIENT_ID", "")',
  'try:',
  '    if os.environ.get("IDENTITY_ENDPOINT"):',
  '        r = u.Request(os.environ["IDENTITY_ENDPOINT"] + "?" + p.urlencode({"api-version": "2019-08-01", "resource": res, "client_id": cid}), headers={"X-IDENTITY-HEADER": os.environ.get("IDENTITY_HEADER", "")})',
  '    elif os.environ.get("MSI_ENDPOINT"):',
  '        r = u.Request(os.environ["MSI_ENDPOINT"] + "?" + p.urlencode({"api-version": "2017-09-01", "resource": res, "clientid": cid}), headers={"secret": os.environ.get("MSI_SECRET", "")})',
  '    else:',
  '        r = u.Request("http://169.254.169.254/metadata/identity/oauth2/token?" + p.urlencode({"api-version": "2018-02-01", "resource": res, "client_id": cid}), headers={"Metadata": "true"})',
  '    token = json.load(u.urlopen(r, timeout=30))["access_token"]',
  '    value = json.load(u.urlopen(u.Request(url + "?api-version=7.4", headers={"Authorization": "Bearer " + token}), timeout=30))["value"]',
  'except Exception as e:',
  '    sys.stderr.write("mlplane: cannot read Key Vault secret " + url + " as identity " + cid + ": " + type(e).__name__ + " " + str(getattr(e, "code", "")) + "\\n")',
  '    sys.exit(1)',
  'sys.stdout.write(value)',
].join('\n');

/**
 * Reads Secret Manager secret versions into environment variables, then runs the step's command:
 * `python3 -c <this> NAME=projects/<p>/secrets/<s>/versions/<v> … -- <command…>`. The token is the
 * task's service account's, from the metadata server.
 *
 * @see https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access
 * @see https://cloud.google.com/compute/docs/access/authenticate-workloads#applications
 */
export const GCP_SECRET_MANAGER_WRAPPER = [
  'import base64, json, os, sys, urllib.request as u',
  'args = sys.argv[1:]',
  'cut = args.index("--")',
  'md = u.Request("http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token", headers={"Metadata-Flavor": "Google"})',
  'token = None',
  'for spec in args[:cut]:',
  '    name, ref = spec.split("=", 1)',
  '    try:',
  '        token = token or json.load(u.urlopen(md, timeout=30))["access_token"]',
  '        r = u.Request("https://secretmanager.googleapis.com/v1/" + ref + ":access", headers={"Authorization": "Bearer " + token})',
  '        os.environ[name] = base64.b64decode(json.load(u.urlopen(r, timeout=30))["payload"]["data"]).decode("utf-8")',
  '    except Exception as e:',
  '        sys.stderr.write("mlplane: cannot read secret " + ref + " for env " + name + ": " + type(e).__name__ + " " + str(getattr(e, "code", "")) + "\\n")',
  '        sys.exit(1)',
  'os.execvp(args[cut + 1], args[cut + 1:])',
].join('\n');
