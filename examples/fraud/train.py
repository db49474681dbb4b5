"""TrainModel: logistic regression by gradient descent on the training split.

    python3 examples/fraud/train.py --features DIR --lr RATE --model DIR

Writes model.json (feature names, standardization, weights) to --model.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402
from features import FEATURES  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--features', required=True)
    p.add_argument('--lr', type=float, required=True)
    p.add_argument('--model', required=True)
    a = p.parse_args()
    rows = [r for r in toyml.read_csv_dir(a.features) if r['split'] == 'train']
    xs = [[float(r[f]) for f in FEATURES] for r in rows]
    ys = [int(r['label']) for r in rows]
    model = toyml.fit_logreg(xs, ys, lr=a.lr, epochs=150)
    model['features'] = FEATURES
    model['learningRate'] = a.lr
    toyml.write_json(a.model, 'model.json', model)
    print('train: %d rows, lr=%s' % (len(rows), a.lr))


if __name__ == '__main__':
    main()
