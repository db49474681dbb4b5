"""Fit: logistic regression churn model.

    python3 examples/churn/train.py --train DIR --model DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402
from prepare import FEATURES  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--train', required=True)
    p.add_argument('--model', required=True)
    a = p.parse_args()
    rows = toyml.read_csv_dir(a.train)
    model = toyml.fit_logreg([[float(r[f]) for f in FEATURES] for r in rows], [int(r['label']) for r in rows], lr=0.3, epochs=150)
    model['features'] = FEATURES
    toyml.write_json(a.model, 'model.json', model)
    print('train: %d customers' % len(rows))


if __name__ == '__main__':
    main()
