/**
 * Every problem with a dataset on disk surfaces as a DatasetError that names the file and,
 * where there is one, the field (column, JSON key, feature) and what was expected — so a
 * user can fix the file without reading our source.
 */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly file: string | undefined;
  readonly field: string | undefined;
  /** The errno code when reading the file failed (`ENOENT`, `ELOOP`, `EACCES`, …). */
  readonly code: string | undefined;
  constructor(message: string, where: { file?: string; field?: string; code?: string } = {}) {
    const loc = [where.file, where.field ? `field '${where.field}'` : undefined].filter(Boolean).join(': ');
    super(loc ? `${loc}: ${message}` : message);
    this.file = where.file;
    this.field = where.field;
    this.code = where.code;
  }
}

/** Non-fatal inconsistencies (e.g. info.json totals that disagree with the files) go here. */
export type WarningHandler = (message: string) => void;

export const defaultWarningHandler: WarningHandler = (m) => {
  process.emitWarning(m, { code: 'VLREWARD_DATASET' });
};
