/**
 * What a person sees when a browser opens mlplane's pictures: each SVG is parsed by headless
 * Chromium's XML parser, put into a page and laid out with the browser's own fonts, and a script in
 * the page reports every `<text>` as drawn (its string, the graph node or chart bar it belongs to,
 * its box in CSS pixels relative to the picture), the picture's size, and — from canvases the
 * browser rasterises into — where ink is: the SVG as the browser paints it, and the PNG mlplane
 * wrote from the same SVG (decoded by the browser), on one grid so they can be compared.
 *
 * Chromium comes from the system (`apt-get install chromium`; `.ci/run` installs it when missing).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A rectangle in CSS pixels, relative to the picture's top-left corner. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** One `<text>` element as the browser drew it. */
export interface DrawnText {
  readonly text: string;
  /** `node:<title>` (a Graphviz node), `edge:<title>`, `bar:<data-label>` (a chart bar), or `picture` for anything else. */
  readonly owner: string;
  /** `getBoundingClientRect()`, relative to the picture. */
  readonly box: Box;
  /** `getBBox()` in the SVG's user units. */
  readonly bbox: Box;
  /** Not hidden, not transparent, filled. */
  readonly visible: boolean;
  /** Share of the PNG's pixels inside `box` (shrunk by 1 px) that are dark. */
  readonly pngInk: number;
  /** The same share in the browser's own rasterisation of the SVG. */
  readonly browserInk: number;
}

/** One picture as the browser showed it. */
export interface BrowserView {
  /** The XML parser's error text, when the SVG is not well-formed XML. */
  readonly xmlError?: string;
  /** The picture's size as laid out in the page (CSS px). */
  readonly width: number;
  readonly height: number;
  readonly texts: readonly DrawnText[];
  /** Graphviz nodes: their `<title>` and the box of their shape (polygon, ellipse or path). */
  readonly nodes: ReadonlyArray<{ readonly title: string; readonly shape: Box }>;
  /** The PNG's own size as the browser decoded it. */
  readonly png?: { readonly width: number; readonly height: number };
  /** Share of dark pixels in the PNG, and in the browser's rasterisation of the SVG. */
  readonly pngInk: number;
  readonly browserInk: number;
  /**
   * Ink compared on a grid of 8 px cells: of the cells the browser inks, the share the PNG inks
   * too (within one cell), and the converse.
   */
  readonly browserCellsInPng: number;
  readonly pngCellsInBrowser: number;
}

/** A picture to show: the SVG text and, optionally, the PNG rasterised from it. */
export interface Picture {
  readonly name: string;
  readonly svg: string;
  readonly png?: Uint8Array;
}

/** The Chromium executable on PATH, if any. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The page's script: runs in Chromium, reads the pictures from #input, writes a JSON report into #result. */
const PAGE_SCRIPT = String.raw`
const DARK = 160;
const lum = (d, i) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
const loadImage = (src) => new Promise((ok, fail) => { const img = new Image(); img.onload = () => ok(img); img.onerror = () => fail(new Error('image did not load')); img.src = src; });
function pixels(img, width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = 'white'; ctx.fillRect(0, 0, width, height);
  ctx.drawImage(img, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height).data;
}
function inkIn(d, width, height, b) {
  const x0 = Math.max(0, Math.floor(b.x + 1)), y0 = Math.max(0, Math.floor(b.y + 1));
  const x1 = Math.min(width, Math.ceil(b.x + b.width - 1)), y1 = Math.min(height, Math.ceil(b.y + b.height - 1));
  let dark = 0, all = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { all++; if (lum(d, (y * width + x) * 4) < DARK) dark++; }
  return all === 0 ? 0 : dark / all;
}
function cells(d, width, height) {
  const cw = Math.ceil(width / 8), ch = Math.ceil(height / 8), c = new Uint8Array(cw * ch);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (lum(d, (y * width + x) * 4) < DARK) c[(y >> 3) * cw + (x >> 3)] = 1;
  return { c, cw, ch };
}
function covered(a, b) {
  let n = 0, hit = 0;
  for (let y = 0; y < a.ch; y++) for (let x = 0; x < a.cw; x++) {
    if (!a.c[y * a.cw + x]) continue;
    n++;
    let near = false;
    for (let dy = -1; dy <= 1 && !near; dy++) for (let dx = -1; dx <= 1 && !near; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy >= 0 && yy < b.ch && xx >= 0 && xx < b.cw && b.c[yy * b.cw + xx]) near = true;
    }
    if (near) hit++;
  }
  return n === 0 ? 1 : hit / n;
}
const rel = (r, o) => ({ x: r.left - o.left, y: r.top - o.top, width: r.width, height: r.height });
const plain = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });
function owner(t) {
  const g = t.closest('g.node, g.edge, g.bar');
  if (!g) return 'picture';
  if (g.classList.contains('bar')) return 'bar:' + g.getAttribute('data-label');
  const title = g.querySelector(':scope > title');
  return (g.classList.contains('node') ? 'node:' : 'edge:') + (title ? title.textContent : '');
}
async function view(p) {
  const doc = new DOMParser().parseFromString(p.svg, 'image/svg+xml');
  const error = doc.getElementsByTagName('parsererror')[0];
  if (error || doc.documentElement.namespaceURI !== 'http://www.w3.org/2000/svg') return { xmlError: error ? error.textContent : 'root is not an SVG element' };
  const host = document.createElement('div');
  host.style.cssText = 'position:absolute; left:0; top:0';
  document.body.appendChild(host);
  const svg = document.importNode(doc.documentElement, true);
  host.appendChild(svg);
  const o = svg.getBoundingClientRect();
  const width = Math.round(o.width), height = Math.round(o.height);
  const browser = pixels(await loadImage('data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(p.svg)))), width, height);
  let png, pngImg;
  if (p.png) { pngImg = await loadImage('data:image/png;base64,' + p.png); png = pixels(pngImg, width, height); }
  const texts = [...svg.querySelectorAll('text')].map((t) => {
    const s = getComputedStyle(t);
    const box = rel(t.getBoundingClientRect(), o);
    return {
      text: t.textContent, owner: owner(t), box, bbox: plain(t.getBBox()),
      visible: s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0 && s.fill !== 'none',
      pngInk: png ? inkIn(png, width, height, box) : 0, browserInk: inkIn(browser, width, height, box),
    };
  });
  const nodes = [...svg.querySelectorAll('g.node')].map((g) => {
    const shape = g.querySelector('polygon, ellipse, path');
    return { title: g.querySelector(':scope > title').textContent, shape: shape ? rel(shape.getBoundingClientRect(), o) : { x: 0, y: 0, width: 0, height: 0 } };
  });
  const ink = (d) => { let n = 0; for (let i = 0; i < d.length; i += 4) if (lum(d, i) < DARK) n++; return n / (d.length / 4); };
  const bc = cells(browser, width, height), pc = png ? cells(png, width, height) : undefined;
  host.remove();
  return {
    width: o.width, height: o.height, texts, nodes,
    png: pngImg ? { width: pngImg.naturalWidth, height: pngImg.naturalHeight } : undefined,
    pngInk: png ? ink(png) : 0, browserInk: ink(browser),
    browserCellsInPng: pc ? covered(bc, pc) : 0, pngCellsInBrowser: pc ? covered(pc, bc) : 0,
  };
}
(async () => {
  const out = {};
  try {
    for (const p of JSON.parse(document.getElementById('input').textContent)) out[p.name] = await view(p);
  } catch (e) { out.__error = String(e && e.stack || e); }
  document.getElementById('result').textContent = JSON.stringify(out);
})();
`;

/**
 * Open the pictures in headless Chromium and report what it drew. One browser run for all of them.
 *
 * @throws Error when Chromium is missing, fails, or the page reports no result.
 */
export async function viewInBrowser(pictures: readonly Picture[]): Promise<Record<string, BrowserView>> {
  const chromium = findChromium();
  if (!chromium) throw new Error('chromium is not installed (apt-get install -y --no-install-recommends chromium; .ci/run installs it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-browser-'));
  const input = JSON.stringify(pictures.map((p) => ({ name: p.name, svg: p.svg, png: p.png ? Buffer.from(p.png).toString('base64') : undefined })));
  const page = path.join(dir, 'page.html');
  fs.writeFileSync(
    page,
    `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;background:white}</style></head><body>` +
      `<script type="application/json" id="input">${input.replace(/</g, '\\u003c')}</script><pre id="result"></pre>` +
      `<script>${PAGE_SCRIPT}</script></body></html>`,
  );
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--mute-audio', '--hide-scrollbars',
    '--force-device-scale-factor=1', '--window-size=1600,1200', `--user-data-dir=${path.join(dir, 'profile')}`,
    '--virtual-time-budget=60000', '--dump-dom', `file://${page}`,
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(chromium, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
  fs.rmSync(dir, { recursive: true, force: true });
  const json = /<pre id="result">([\s\S]*?)<\/pre>/.exec(stdout)?.[1];
  if (code !== 0 || !json) throw new Error(`chromium exited ${code} without a report:\n${stderr.slice(-2000)}`);
  const decoded = json.replace(/&nbsp;/g, '\u00a0').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const report = JSON.parse(decoded) as Record<string, BrowserView> & { __error?: string };
  if (report.__error) throw new Error(`the page's script failed: ${report.__error}`);
  return report;
}
