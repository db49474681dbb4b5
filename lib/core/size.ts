/**
 * An amount of memory or storage, with explicit units.
 *
 * @example Size.gibibytes(16)
 */
export class Size {
  /** `amount` mebibytes. */
  public static mebibytes(amount: number): Size {
    return new Size(amount / 1024, `${amount} MiB`);
  }
  /** `amount` gibibytes. */
  public static gibibytes(amount: number): Size {
    return new Size(amount, `${amount} GiB`);
  }
  /** `amount` tebibytes. */
  public static tebibytes(amount: number): Size {
    return new Size(amount * 1024, `${amount} TiB`);
  }

  private constructor(
    private readonly gib: number,
    private readonly text: string,
  ) {}

  /** The size in GiB. */
  public toGibibytes(): number {
    return this.gib;
  }

  public toString(): string {
    return this.text;
  }
}
