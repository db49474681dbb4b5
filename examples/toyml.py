"""A toy machine-learning kit for the example pipelines: CSV in and out, logistic regression by
batch gradient descent, and evaluation metrics. Python 3 standard library only, deterministic
(same input bytes, same output bytes), so `mlplane run` can cache every step.
"""
import csv
import hashlib
import json
import math
import os


def read_csv_dir(directory):
    """Rows (dicts) of every .csv file under `directory`, files in name order."""
    rows = []
    for name in sorted(os.listdir(directory)):
        if name.endswith('.csv'):
            with open(os.path.join(directory, name), newline='', encoding='utf-8') as f:
                rows.extend(csv.DictReader(f))
    if not rows:
        raise SystemExit('no CSV rows under %s' % directory)
    return rows


def write_csv(directory, name, rows, columns):
    """Write rows (dicts) with a header to `directory/name`, creating the directory."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), 'w', newline='', encoding='utf-8') as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator='\n')
        w.writeheader()
        for r in rows:
            w.writerow({c: r[c] for c in columns})


def write_json(directory, name, value):
    """Write sorted-key JSON to `directory/name`, creating the directory."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write('\n')


def read_json(directory, name):
    with open(os.path.join(directory, name), encoding='utf-8') as f:
        return json.load(f)


def bucket(key, buckets=5):
    """A stable bucket of a string key (for train / holdout splits)."""
    return int(hashlib.sha256(key.encode('utf-8')).hexdigest()[:8], 16) % buckets


def sigmoid(z):
    if z < -35:
        return 1e-15
    if z > 35:
        return 1 - 1e-15
    return 1 / (1 + math.exp(-z))


def fit_logreg(xs, ys, lr, epochs=300, l2=1e-3):
    """Logistic regression by full-batch gradient descent on standardized features."""
    n, d = len(xs), len(xs[0])
    mean = [sum(x[j] for x in xs) / n for j in range(d)]
    std = [math.sqrt(sum((x[j] - mean[j]) ** 2 for x in xs) / n) or 1.0 for j in range(d)]
    zs = [[(x[j] - mean[j]) / std[j] for j in range(d)] for x in xs]
    w, b = [0.0] * d, 0.0
    for _ in range(epochs):
        gw, gb = [0.0] * d, 0.0
        for z, y in zip(zs, ys):
            err = sigmoid(b + sum(wj * zj for wj, zj in zip(w, z))) - y
            gb += err
            for j in range(d):
                gw[j] += err * z[j]
        b -= lr * gb / n
        w = [wj - lr * (g / n + l2 * wj) for wj, g in zip(w, gw)]
    return {'mean': mean, 'std': std, 'weights': w, 'bias': b}


def predict(model, x):
    z = [(v - m) / s for v, m, s in zip(x, model['mean'], model['std'])]
    return sigmoid(model['bias'] + sum(w * v for w, v in zip(model['weights'], z)))


def auc(scores, ys):
    """Area under the ROC curve (rank statistic, ties averaged)."""
    pairs = sorted(zip(scores, ys))
    ranks, i = [0.0] * len(pairs), 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(1 for _, y in pairs if y == 1)
    neg = len(pairs) - pos
    if pos == 0 or neg == 0:
        return 0.5
    rank_sum = sum(r for r, (_, y) in zip(ranks, pairs) if y == 1)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def logloss(scores, ys):
    return -sum(math.log(p) if y == 1 else math.log(1 - p) for p, y in zip(scores, ys)) / len(ys)


def classification(scores, ys, threshold=0.5):
    """Accuracy, precision, recall and F1 at a threshold."""
    tp = sum(1 for p, y in zip(scores, ys) if p >= threshold and y == 1)
    fp = sum(1 for p, y in zip(scores, ys) if p >= threshold and y == 0)
    fn = sum(1 for p, y in zip(scores, ys) if p < threshold and y == 1)
    tn = len(ys) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {'accuracy': (tp + tn) / len(ys), 'precision': precision, 'recall': recall, 'f1': f1}


def rounded(metrics, digits=6):
    """Metrics rounded, so the same model always writes the same metrics.json bytes."""
    return {k: round(v, digits) for k, v in metrics.items()}
