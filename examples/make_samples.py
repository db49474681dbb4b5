"""Generate the small, synthetic sample data of the example pipelines (deterministic: a fixed seed).

    python3 examples/make_samples.py

writes examples/fraud/data/transactions.csv (600 card transactions with fraud labels) and
examples/churn/data/customers.csv (400 customer snapshots with churn labels), in the columns of
the `Transactions` and `Customers` dataset schemas of stacks/fraud.ts and stacks/churn.ts.
"""
import csv
import datetime as dt
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
END = dt.datetime(2026, 11, 30, 0, 0, 0)


def write(path, columns, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(columns)
        w.writerows(rows)


def transactions(n=600):
    rng = random.Random(4711)
    columns = ['txId', 'customerId', 'merchantId', 'merchantCategory', 'amount', 'currency', 'channel', 'country', 'hourOfDay',
               'isInternational', 'customerAgeDays', 'amountZScore', 'ts', 'txDate', 'deviceTags', 'geo', 'isFraud']
    rows = []
    for i in range(n):
        channel = rng.choice(['pos', 'pos', 'pos', 'ecom', 'ecom', 'atm'])
        international = rng.random() < 0.15
        hour = rng.randrange(24)
        age = rng.randrange(5, 3000)
        z = rng.gauss(0, 1)
        amount = round(max(1.0, math.exp(3.5 + 0.8 * z + rng.gauss(0, 0.3))), 2)
        score = -3.4 + 1.3 * z + (0.9 if international else 0) + (0.8 if hour < 6 else 0) + (0.6 if channel == 'ecom' else 0) - 0.0006 * age + rng.gauss(0, 0.8)
        fraud = rng.random() < 1 / (1 + math.exp(-score))
        ts = END - dt.timedelta(seconds=rng.randrange(120 * 86400))
        ts = ts.replace(hour=hour)
        rows.append([
            'tx%05d' % i, 'c%04d' % rng.randrange(300), 'm%03d' % rng.randrange(80), rng.choice(['grocery', 'travel', 'electronics', 'fuel', 'fashion']),
            amount, 'EUR', channel, rng.choice(['NL', 'DE', 'FR', 'BE']) if not international else rng.choice(['US', 'BR', 'NG', 'TH']), hour,
            'true' if international else 'false', age, round(z, 4), ts.strftime('%Y-%m-%dT%H:%M:%SZ'), ts.strftime('%Y-%m-%d'),
            '|'.join(sorted(rng.sample(['mobile', 'web', 'chip', 'contactless', 'new-device'], 2))),
            json.dumps({'lat': round(rng.uniform(35, 60), 3), 'lon': round(rng.uniform(-5, 25), 3)}), 'true' if fraud else 'false',
        ])
    write(os.path.join(HERE, 'fraud', 'data', 'transactions.csv'), columns, rows)


def customers(n=400):
    rng = random.Random(1701)
    columns = ['customerId', 'snapshotDate', 'tenureMonths', 'monthlyCharges', 'totalCharges', 'contractType', 'paymentMethod',
               'supportTickets', 'lastLogin', 'churned']
    rows = []
    for i in range(n):
        tenure = rng.randrange(1, 72)
        monthly = round(rng.uniform(20, 110), 2)
        contract = rng.choice(['month-to-month', 'month-to-month', 'one-year', 'two-year'])
        payment = rng.choice(['electronic-check', 'card', 'bank-transfer'])
        tickets = min(9, int(rng.expovariate(0.7)))
        idle = rng.randrange(0, 60)
        score = -1.0 - 0.05 * tenure + 0.015 * monthly + (1.0 if contract == 'month-to-month' else -0.6) + (0.5 if payment == 'electronic-check' else 0) + 0.3 * tickets + 0.02 * idle + rng.gauss(0, 0.7)
        churned = rng.random() < 1 / (1 + math.exp(-score))
        last = END - dt.timedelta(days=idle, seconds=rng.randrange(86400))
        rows.append(['cust%04d' % i, '2026-11-30', tenure, monthly, round(monthly * tenure * rng.uniform(0.95, 1.0), 2), contract, payment,
                     tickets, last.strftime('%Y-%m-%dT%H:%M:%SZ'), 'true' if churned else 'false'])
    write(os.path.join(HERE, 'churn', 'data', 'customers.csv'), columns, rows)


if __name__ == '__main__':
    transactions()
    customers()
