/**
 * Data fingerprints of BigQuery tables for KFP caching that cannot go stale (docs/caching.md).
 *
 * A cached step reading a dataset would otherwise be keyed on a constant table reference. Each
 * dataset a cached step reads gets an uncached `fingerprint-<dataset>` task, run at the start of
 * the pipeline, whose output is the table's `lastModifiedTime`, row count and size
 * (`tables.get`); the fingerprint is an input of the export task and of the step
 * (`mlplane_data_<input>`), so the KFP cache key — component spec plus input values — changes
 * exactly when the data does, and stays equal while it does not (the export is then reused too).
 *
 * @see https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#Table (lastModifiedTime, numRows, numBytes)
 * @see https://www.kubeflow.org/docs/components/pipelines/user-guides/core-functions/caching/
 */

/** Prefix of the input carrying a dataset's fingerprint into a step's cache key (rule 3 of docs/caching.md). */
export const DATA_INPUT_PREFIX = 'mlplane_data_';

/** The fingerprint input of a step input named `input`. */
export function dataInputName(input: string): string {
  return `${DATA_INPUT_PREFIX}${input}`;
}

/**
 * `fingerprint_dataset`: the data fingerprint of a BigQuery table — `empty` for a table without
 * rows, else `<lastModifiedTime ms>-<rows>-<bytes>`. An external table over Cloud Storage files
 * has no row count and keeps its modification time when the files change: its fingerprint is
 * the newest `updated` time, count and total size of the objects under its source URIs.
 */
export const FINGERPRINT_SOURCE = `def fingerprint_dataset(project: str, location: str, table: str) -> str:
    """The data fingerprint of a BigQuery table (docs/caching.md, rule 2)."""
    from google.cloud import bigquery

    t = bigquery.Client(project=project, location=location).get_table(table)
    if t.external_data_configuration is not None:
        from google.cloud import storage
        gcs = storage.Client(project=project)
        newest, count, size = 0, 0, 0
        for uri in t.external_data_configuration.source_uris:
            bucket, _, prefix = uri[len('gs://'):].partition('/')
            for blob in gcs.list_blobs(bucket, prefix=prefix.split('*')[0]):
                newest = max(newest, int(blob.updated.timestamp() * 1000))
                count += 1
                size += blob.size or 0
        return 'empty' if count == 0 else 'gcs-{}-{}-{}'.format(newest, count, size)
    if not t.num_rows:
        return 'empty'
    return '{}-{}-{}'.format(int(t.modified.timestamp() * 1000), t.num_rows, t.num_bytes)
`;
