"""Evaluate: F1, precision, recall, accuracy and AUC on the test split, as metrics.json.

    python3 examples/churn/evaluate.py --model DIR --test DIR --metrics DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', required=True)
    p.add_argument('--test', required=True)
    p.add_argument('--metrics', required=True)
    a = p.parse_args()
    model = toyml.read_json(a.model, 'model.json')
    rows = toyml.read_csv_dir(a.test)
    scores = [toyml.predict(model, [float(r[f]) for f in model['features']]) for r in rows]
    ys = [int(r['label']) for r in rows]
    metrics = dict(toyml.classification(scores, ys), auc=toyml.auc(scores, ys))
    toyml.write_json(a.metrics, 'metrics.json', toyml.rounded(metrics))
    print('evaluate: %s' % toyml.rounded(metrics))


if __name__ == '__main__':
    main()
