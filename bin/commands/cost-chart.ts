import type { CostEstimate, PriceSnapshot } from '../../adapters/shared/cost';

/**
 * Horizontal bar charts as SVG, built by hand: deterministic (the same input gives the same bytes),
 * no layout engine and no fonts to load. Every bar of a chart shares one scale, so bar lengths
 * compare across sections; a bar may carry a range (a solid part to `value`, a light part on to
 * `high`).
 */

/** One bar: a solid part of length `value` and, when `high` is above it, a light part on to `high`. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Upper end of a range; the part from `value` to `high` is drawn light. @default - no range */
  readonly high?: number;
  /** The figure printed after the bar. */
  readonly text: string;
}

/** A titled group of bars. */
export interface BarSection {
  readonly title: string;
  readonly bars: readonly Bar[];
  /** Printed instead of bars when `bars` is empty. @default - nothing */
  readonly empty?: string;
}

/** A whole chart. */
export interface BarChart {
  readonly title: string;
  /** Lines under the title. @default - none */
  readonly subtitle?: readonly string[];
  readonly sections: readonly BarSection[];
  /** Formats an axis tick. */
  readonly tick: (value: number) => string;
  /** A dashed vertical line across every section at this value (e.g. a baseline of 1×). @default - none */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Lines under the chart. @default - none */
  readonly footnotes?: readonly string[];
}

const FONT = 'Helvetica, Arial, sans-serif';
const WIDTH = 960;
const BAR = 18;
const GAP = 6;
const PLOT_MIN = 360;
const CHAR = 6.6; // average advance of a 12 px Helvetica character, for the label column

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Coordinates with two decimals and no trailing zeros: stable text for the same numbers. */
const n = (x: number) => String(Math.round(x * 100) / 100);

/** A round tick step giving about five ticks up to `max`. */
function tickStep(max: number): number {
  const rough = max / 5;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const f = rough / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/**
 * The chart as an SVG document. Each bar is a `<g class="bar">` with `data-label`, `data-value`
 * and `data-high`, a `rect.value` whose width is `value × scale` and, for a range, a `rect.range`
 * of width `(high − value) × scale` right after it; the root carries `data-scale` (pixels per unit).
 */
export function barChartSvg(chart: BarChart): string {
  const bars = chart.sections.flatMap((s) => s.bars);
  const top = Math.max(0, ...bars.map((b) => Math.max(b.value, b.high ?? 0)), chart.reference?.value ?? 0);
  const step = top > 0 ? tickStep(top) : 1;
  const axisMax = Math.max(step, Math.ceil(top / step) * step);
  const labelWidth = Math.min(420, Math.max(120, ...bars.map((b) => b.label.length * CHAR))) + 16;
  const textWidth = Math.max(90, ...bars.map((b) => b.text.length * CHAR)) + 12;
  const plotX = labelWidth;
  const plotW = Math.max(PLOT_MIN, WIDTH - labelWidth - textWidth - 16);
  const width = plotX + plotW + textWidth + 16;
  const scale = plotW / axisMax;

  const body: string[] = [];
  let y = 24;
  const line = (text: string, cls: string, size: number, weight = 'normal') => {
    body.push(`<text class="${cls}" x="16" y="${n(y)}" font-size="${size}" font-weight="${weight}">${esc(text)}</text>`);
  };
  line(chart.title, 'title', 16, 'bold');
  y += 18;
  for (const s of chart.subtitle ?? []) {
    line(s, 'subtitle', 11);
    y += 15;
  }
  y += 6;
  // Axis ticks along the top of the plot.
  const ticks = Array.from({ length: Math.round(axisMax / step) + 1 }, (_, i) => i * step);
  body.push(`<g class="axis">`);
  for (const v of ticks) body.push(`<text x="${n(plotX + v * scale)}" y="${n(y + 10)}" font-size="10" text-anchor="middle" fill="#555">${esc(chart.tick(v))}</text>`);
  body.push(`</g>`);
  y += 18;
  const plotTop = y;
  for (const section of chart.sections) {
    y += 6;
    body.push(`<text class="section" x="16" y="${n(y + 12)}" font-size="13" font-weight="bold">${esc(section.title)}</text>`);
    y += 22;
    if (section.bars.length === 0 && section.empty) {
      body.push(`<text class="empty" x="${n(plotX)}" y="${n(y + 13)}" font-size="12" fill="#777">${esc(section.empty)}</text>`);
      y += BAR + GAP;
    }
    for (const b of section.bars) {
      const high = b.high !== undefined && b.high > b.value ? b.high : undefined;
      const w = b.value * scale;
      const parts = [
        `<g class="bar" data-label="${esc(b.label)}" data-value="${b.value}"${high !== undefined ? ` data-high="${high}"` : ''}>`,
        `<text class="label" x="${n(plotX - 8)}" y="${n(y + 13)}" font-size="12" text-anchor="end">${esc(b.label)}</text>`,
        `<rect class="value" x="${n(plotX)}" y="${n(y)}" width="${n(w)}" height="${BAR}" fill="#4c78a8"/>`,
      ];
      if (high !== undefined) parts.push(`<rect class="range" x="${n(plotX + w)}" y="${n(y)}" width="${n((high - b.value) * scale)}" height="${BAR}" fill="#4c78a8" fill-opacity="0.3"/>`);
      parts.push(`<text class="figure" x="${n(plotX + (high ?? b.value) * scale + 6)}" y="${n(y + 13)}" font-size="12">${esc(b.text)}</text>`, `</g>`);
      body.push(parts.join(''));
      y += BAR + GAP;
    }
  }
  const plotBottom = y;
  // Grid lines behind the bars, and the reference line over them.
  const grid = ticks.map((v) => `<line x1="${n(plotX + v * scale)}" y1="${n(plotTop)}" x2="${n(plotX + v * scale)}" y2="${n(plotBottom)}" stroke="#e3e3e3"/>`);
  if (chart.reference) {
    const x = plotX + chart.reference.value * scale;
    body.push(`<g class="reference" data-value="${chart.reference.value}"><line x1="${n(x)}" y1="${n(plotTop - 4)}" x2="${n(x)}" y2="${n(plotBottom)}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="${n(x + 4)}" y="${n(plotBottom + 12)}" font-size="10" fill="#c0392b">${esc(chart.reference.label)}</text></g>`);
    y += 14;
  }
  y += 10;
  for (const f of chart.footnotes ?? []) {
    line(f, 'footnote', 10);
    y += 13;
  }
  const height = y + 10;
  return [
    `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="${FONT}" data-scale="${scale}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g class="grid">${grid.join('')}</g>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n');
}

const money = (c: string) => (v: number) => `${c === 'USD' ? '$' : `${c} `}${v.toFixed(2)}`;
const moneyTick = (c: string) => (v: number) => `${c === 'USD' ? '$' : `${c} `}${Number.isInteger(v) ? v : Number(v.toPrecision(6))}`;
const rangeText = (lo: number, hi: number, c: string) => (Math.abs(hi - lo) < 0.005 ? money(c)(lo) : `${money(c)(lo)}–${money(c)(hi)}`);

/** Monthly low–high sums of an estimate's priced lines per component, in the order components first appear. */
export function costByComponent(e: CostEstimate): ReadonlyArray<{ readonly component: string; readonly items: number; readonly low: number; readonly high: number }> {
  const by = new Map<string, { component: string; items: number; low: number; high: number }>();
  for (const l of e.lines) {
    const c = by.get(l.component) ?? { component: l.component, items: 0, low: 0, high: 0 };
    c.items += 1;
    c.low += l.low;
    c.high += l.high;
    by.set(l.component, c);
  }
  return [...by.values()];
}

/**
 * One environment's monthly estimate as a bar chart: the priced total per target, then each
 * target's priced lines summed per component. Unpriced items are counted, never drawn.
 */
export function costChartSvg(environment: string, stage: string, estimates: readonly CostEstimate[], snapshot: PriceSnapshot): string {
  const c = snapshot.currency;
  const unpriced = (e: CostEstimate) => (e.unpriced.length > 0 ? `  (+${e.unpriced.length} unpriced)` : '');
  const sections: BarSection[] = [
    {
      title: 'Priced total per target',
      bars: estimates.map((e) => ({ label: `${e.target} [${e.region}]`, value: e.total.low, high: e.total.high, text: `${rangeText(e.total.low, e.total.high, c)}${unpriced(e)}` })),
    },
    ...estimates.map((e) => ({
      title: `${e.target}: per component`,
      bars: costByComponent(e).map((p) => ({ label: `${p.component} (${p.items})`, value: p.low, high: p.high, text: rangeText(p.low, p.high, c) })),
      empty: `nothing priced${e.unpriced.length > 0 ? ` (${e.unpriced.length} item(s) unpriced: mlplane cost lists them)` : ''}`,
    })),
  ];
  return barChartSvg({
    title: `${environment} (${stage}): estimated monthly cost`,
    subtitle: [
      `Prices: snapshot of ${snapshot.date} (${c}, list prices). Solid bar: low end; light bar: up to the high end (max replicas, step timeouts).`,
      `Unpriced items (no data size, no price in the snapshot) are left out of the bars; \`mlplane cost\` lists each one with the reason.`,
    ],
    sections,
    tick: moneyTick(c),
    footnotes: Object.entries(snapshot.sources).map(([k, s]) => `${k}: ${s.url}`),
  });
}
