/** One measured figure. `pnpm bench` collects these into bench/results/*.json and a table. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}
