/**
 * A length of time, with explicit units.
 *
 * @example Duration.hours(6)
 */
export class Duration {
  /** A duration of `amount` seconds. */
  public static seconds(amount: number): Duration {
    return new Duration(amount, 'seconds', 1);
  }
  /** A duration of `amount` minutes. */
  public static minutes(amount: number): Duration {
    return new Duration(amount, 'minutes', 60);
  }
  /** A duration of `amount` hours. */
  public static hours(amount: number): Duration {
    return new Duration(amount, 'hours', 3600);
  }
  /** A duration of `amount` days. */
  public static days(amount: number): Duration {
    return new Duration(amount, 'days', 86400);
  }

  private constructor(
    private readonly amount: number,
    private readonly unit: string,
    private readonly factor: number,
  ) {}

  /** Total seconds (may be fractional or negative if the amount was; validators reject those). */
  public toSeconds(): number {
    return this.amount * this.factor;
  }

  /** Total whole days, rounded up. */
  public toDays(): number {
    return Math.ceil(this.toSeconds() / 86400);
  }

  /** How the user wrote it, e.g. `6 hours`. */
  public toString(): string {
    return `${this.amount} ${this.unit}`;
  }
}
