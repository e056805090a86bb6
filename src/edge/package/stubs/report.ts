/**
 * Stands in for src/edge/package/report.ts in packages exported without `--report-url`
 * (src/edge/js-package.ts): such a package never reports, so it carries no reporter, and
 * `report(options)` refuses with the option that brings one. `report(false)`, `flushReports()`
 * and `reportStats()` reach no reporter and answer as a package that is not reporting.
 */
import { ferry } from '../../../core/errors.js';

export type { ReportOptions, ReportStats } from '../report.js';

export class Reporter {
  constructor() {
    throw ferry('FERRY_E_EDGE_CALL_INVALID', { detail: 'report() needs the reporter, which this package was exported without (export it with --report-url to carry it)' });
  }
}
