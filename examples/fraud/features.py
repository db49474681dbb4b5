"""BuildFeatures: numeric features, the label and a stable train/holdout split per transaction.

    python3 examples/fraud/features.py --in DIR --out DIR
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402

FEATURES = ['logAmount', 'amountZScore', 'night', 'isInternational', 'logCustomerAgeDays', 'ecom', 'atm']


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--in', dest='source', required=True)
    p.add_argument('--out', required=True)
    a = p.parse_args()
    out = []
    for r in toyml.read_csv_dir(a.source):
        hour = int(r['hourOfDay'])
        out.append({
            'txId': r['txId'],
            'split': 'holdout' if toyml.bucket(r['txId']) == 0 else 'train',
            'logAmount': round(math.log1p(float(r['amount'])), 6),
            'amountZScore': float(r['amountZScore']),
            'night': 1 if hour < 6 else 0,
            'isInternational': 1 if r['isInternational'] == 'true' else 0,
            'logCustomerAgeDays': round(math.log1p(int(r['customerAgeDays'])), 6),
            'ecom': 1 if r['channel'] == 'ecom' else 0,
            'atm': 1 if r['channel'] == 'atm' else 0,
            'label': 1 if r['isFraud'] == 'true' else 0,
        })
    toyml.write_csv(a.out, 'features.csv', out, ['txId', 'split'] + FEATURES + ['label'])
    print('features: %d rows, %d features' % (len(out), len(FEATURES)))


if __name__ == '__main__':
    main()
