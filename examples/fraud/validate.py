"""ValidateData: keep the last --window-days of well-formed transactions.

    python3 examples/fraud/validate.py --data DIR --window-days N --out DIR --report DIR

Reads every CSV under --data (the Transactions dataset), drops rows with a missing id, a
non-positive amount or an unparseable time, keeps those within N days of the newest one, and
writes clean.csv to --out and report.json to --report.
"""
import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402


def parse_ts(text):
    try:
        return dt.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')
    except ValueError:
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--window-days', type=int, required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--report', required=True)
    a = p.parse_args()
    rows = toyml.read_csv_dir(a.data)
    columns = list(rows[0].keys())
    good = []
    for r in rows:
        try:
            ok = r['txId'] and float(r['amount']) > 0 and parse_ts(r['ts']) is not None
        except ValueError:
            ok = False
        if ok:
            good.append(r)
    newest = max(parse_ts(r['ts']) for r in good)
    since = newest - dt.timedelta(days=a.window_days)
    kept = sorted((r for r in good if parse_ts(r['ts']) >= since), key=lambda r: r['txId'])
    toyml.write_csv(a.out, 'clean.csv', kept, columns)
    fraud = sum(1 for r in kept if r['isFraud'] == 'true')
    toyml.write_json(a.report, 'report.json', {
        'rowsIn': len(rows), 'rowsMalformed': len(rows) - len(good), 'rowsOutsideWindow': len(good) - len(kept),
        'rowsOut': len(kept), 'windowDays': a.window_days, 'fraudRate': round(fraud / len(kept), 6) if kept else 0,
    })
    print('validate: %d of %d rows kept (window %d days)' % (len(kept), len(rows), a.window_days))


if __name__ == '__main__':
    main()
