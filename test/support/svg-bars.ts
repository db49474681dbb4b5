/** Reads the bars back out of an SVG written by `barChartSvg` (bin/commands/cost-chart.ts), for tests. */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) => s.replace(/&(\w+);/g, (m, e: string) => ENTITIES[e] ?? m);

/** One bar as drawn: its data attributes, the geometry of its rects and the figure printed after it. */
export interface DrawnBar {
  readonly label: string;
  readonly value: number;
  readonly high?: number;
  readonly x: number;
  readonly width: number;
  readonly rangeX?: number;
  readonly rangeWidth?: number;
  readonly labelText: string;
  readonly text: string;
}

const attr = (tag: string, name: string) => /* the attribute's raw text */ new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/** Every `<g class="bar">` of `svg`, in document order. */
export function svgBars(svg: string): DrawnBar[] {
  return [...svg.matchAll(/(<g class="bar"[^>]*>)([\s\S]*?)<\/g>/g)].map((m) => {
    const [open = '', body = ''] = [m[1], m[2]];
    const value = /<rect class="value"[^>]*>/.exec(body)?.[0] ?? '';
    const range = /<rect class="range"[^>]*>/.exec(body)?.[0];
    const high = attr(open, 'data-high');
    return {
      label: decode(attr(open, 'data-label') ?? ''),
      value: Number(attr(open, 'data-value')),
      ...(high !== undefined ? { high: Number(high) } : {}),
      x: Number(attr(value, 'x')),
      width: Number(attr(value, 'width')),
      ...(range !== undefined ? { rangeX: Number(attr(range, 'x')), rangeWidth: Number(attr(range, 'width')) } : {}),
      labelText: decode(/<text class="label"[^>]*>([\s\S]*?)<\/text>/.exec(body)?.[1] ?? ''),
      text: decode(/<text class="figure"[^>]*>([\s\S]*?)<\/text>/.exec(body)?.[1] ?? ''),
    };
  });
}

/** The sections of `svg` (each `<text class="section">`) with the bars drawn under each. */
export function svgSections(svg: string): Array<{ title: string; bars: DrawnBar[] }> {
  const parts = svg.split(/(?=<text class="section")/).slice(1);
  return parts.map((p) => ({ title: decode(/<text class="section"[^>]*>([\s\S]*?)<\/text>/.exec(p)?.[1] ?? ''), bars: svgBars(p) }));
}
