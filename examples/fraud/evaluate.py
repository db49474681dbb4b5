"""Evaluate: AUC, log loss and accuracy of the model on the holdout split, as metrics.json.

    python3 examples/fraud/evaluate.py --model DIR --holdout DIR --metrics DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import toyml  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', required=True)
    p.add_argument('--holdout', required=True)
    p.add_argument('--metrics', required=True)
    a = p.parse_args()
    model = toyml.read_json(a.model, 'model.json')
    rows = [r for r in toyml.read_csv_dir(a.holdout) if r['split'] == 'holdout']
    scores = [toyml.predict(model, [float(r[f]) for f in model['features']]) for r in rows]
    ys = [int(r['label']) for r in rows]
    metrics = {'auc': toyml.auc(scores, ys), 'logloss': toyml.logloss(scores, ys), 'accuracy': toyml.classification(scores, ys)['accuracy']}
    toyml.write_json(a.metrics, 'metrics.json', toyml.rounded(metrics))
    print('evaluate: %s' % toyml.rounded(metrics))


if __name__ == '__main__':
    main()
