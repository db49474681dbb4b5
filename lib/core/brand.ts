/**
 * Type brands: identify mlplane constructs without `instanceof`, which breaks when two copies of
 * the library are loaded.
 */
export function brand(target: object, name: string): void {
  Object.defineProperty(target, Symbol.for(`mlplane.${name}`), { value: true });
}

/** Whether `x` carries the brand `name`. */
export function hasBrand(x: unknown, name: string): boolean {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[Symbol.for(`mlplane.${name}`)] === true;
}
