import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { packageRoot } from '../../adapters/shared/spec-data';

/**
 * SVG → PNG with resvg compiled to WebAssembly (`@resvg/resvg-wasm`: no native binary, no system
 * install). Text is drawn with the fonts shipped in `assets/fonts/` (see its SOURCES.md) and with
 * nothing else — system fonts are never loaded — so the same SVG gives the same PNG bytes on every
 * machine. Load this module lazily: the WebAssembly and the fonts cost a few hundred milliseconds.
 */

/** The shipped fonts (regular and bold of one family). */
export const FONT_FILES = ['LiberationSans-Regular.ttf', 'LiberationSans-Bold.ttf'] as const;

/** The family every named family without a shipped font (Helvetica, Arial, sans-serif, serif, …) is drawn with. */
const FAMILY = 'Liberation Sans';

let ready: Promise<{ readonly Resvg: typeof import('@resvg/resvg-wasm').Resvg; readonly fonts: Uint8Array[] }> | undefined;

/** Compile resvg's WebAssembly once per process (initWasm refuses a second call) and read the fonts. */
function renderer(): NonNullable<typeof ready> {
  ready ??= (async () => {
    const { initWasm, Resvg } = await import('@resvg/resvg-wasm');
    await initWasm(fs.readFileSync(createRequire(import.meta.url).resolve('@resvg/resvg-wasm/index_bg.wasm')));
    const dir = path.join(packageRoot(), 'assets', 'fonts');
    const fonts = FONT_FILES.map((f) => {
      const file = path.join(dir, f);
      if (!fs.existsSync(file)) throw new Error(`font ${file} is missing; the mlplane installation is incomplete (assets/fonts/); reinstall mlplane`);
      return new Uint8Array(fs.readFileSync(file));
    });
    return { Resvg, fonts };
  })();
  return ready;
}

/**
 * Rasterise an SVG document to PNG at its own size (SVG user units as CSS pixels: `1pt` = 4/3 px),
 * the size a browser shows it at 100 %.
 *
 * @throws Error when resvg cannot parse the SVG.
 */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg, fonts } = await renderer();
  const resvg = new Resvg(svg, {
    font: { fontBuffers: fonts, defaultFontFamily: FAMILY, sansSerifFamily: FAMILY, serifFamily: FAMILY },
    fitTo: { mode: 'original' },
    textRendering: 2,
    shapeRendering: 2,
  });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
