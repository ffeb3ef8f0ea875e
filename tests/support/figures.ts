import { appendFileSync } from 'node:fs';

/**
 * Records figures for the run's summary table (figures-reporter.cjs prints them after the run): one JSON line per
 * call in the file that the globalSetup names in RELAY_TEST_FIGURES. Without it (a run without the globalSetup) the
 * figures are dropped. Values are printed as given; keep them short.
 */
export function recordFigure(name: string, figures: Record<string, number | string>): void {
  const file = process.env.RELAY_TEST_FIGURES;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ name, figures })}\n`);
}
