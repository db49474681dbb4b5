"""Prepare: churn features and a stable train/test split of the customer snapshot.

    python3 examples/churn/prepare.py --snapshot DIR --train DIR --test DIR
"""
import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402

FEATURES = ['tenureMonths', 'monthlyCharges', 'totalCharges', 'monthToMonth', 'twoYear', 'electronicCheck', 'supportTickets', 'daysSinceLogin']


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--snapshot', required=True)
    p.add_argument('--train', required=True)
    p.add_argument('--test', required=True)
    a = p.parse_args()
    rows = []
    for r in toyml.read_csv_dir(a.snapshot):
        snapshot = dt.datetime.strptime(r['snapshotDate'], '%Y-%m-%d')
        last = dt.datetime.strptime(r['lastLogin'], '%Y-%m-%dT%H:%M:%SZ')
        rows.append({
            'customerId': r['customerId'],
            'tenureMonths': int(r['tenureMonths']),
            'monthlyCharges': float(r['monthlyCharges']),
            'totalCharges': float(r['totalCharges']),
            'monthToMonth': 1 if r['contractType'] == 'month-to-month' else 0,
            'twoYear': 1 if r['contractType'] == 'two-year' else 0,
            'electronicCheck': 1 if r['paymentMethod'] == 'electronic-check' else 0,
            'supportTickets': int(r['supportTickets']),
            'daysSinceLogin': (snapshot - last).days,
            'label': 1 if r['churned'] == 'true' else 0,
        })
    columns = ['customerId'] + FEATURES + ['label']
    toyml.write_csv(a.train, 'train.csv', [r for r in rows if toyml.bucket(r['customerId'], 4) != 0], columns)
    toyml.write_csv(a.test, 'test.csv', [r for r in rows if toyml.bucket(r['customerId'], 4) == 0], columns)
    print('prepare: %d customers' % len(rows))


if __name__ == '__main__':
    main()
