import { parse as parseYaml } from 'yaml';
import { ferry } from '../core/errors.js';
import { declarationsOfDocument, type FeatureDeclarations } from './declarations.js';

/**
 * Read a `features.yaml` text (or the `features:` section of a `ferry.yaml`); relative source
 * paths are resolved against `file`'s folder. Every problem names where it is. (Apart from
 * declarations.ts, so that opening the registry does not load the YAML parser.)
 */
export function parseDeclarations(text: string, file: string): FeatureDeclarations {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw ferry('FERRY_E_FEATURES_INVALID', { detail: `${file} is not valid YAML (${(err as Error).message})` });
  }
  return declarationsOfDocument(doc, file);
}
